#!/usr/bin/env bash
# Self-test of the FreeRADIUS harness (start.sh / eapol.sh / stop.sh), all on 127.0.0.1:
# builds a throwaway P-256 client PKI shaped like the Provisioning Server's (root CA ->
# issuing CA -> end-entity certificates with extendedKeyUsage clientAuth and the device
# identity in subjectAltName), starts the server on an SQLite database, and checks
#   EAP-TTLS/PAP: right password ok, wrong password / unknown user / deleted user rejected,
#                 a row inserted while the server runs is used at once;
#   EAP-TLS:      CN + SAN rfc822Name, no CN + SAN URI, empty subject + SAN URI all ok;
#                 a SAN rfc822Name with another EAP identity claimed, certificates of
#                 another CA or of the server's own CA rejected.
# Installs nothing; needs the Debian packages freeradius, eapoltest, sqlite3 (and openssl).
# Usage: tools/freeradius/selftest.sh   (FR_TEST_PORT picks the port, KEEP=1 keeps the
# temp dir, FR_DEBUG=1 makes the server log in debug detail)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

for b in freeradius radclient eapol_test sqlite3 openssl; do
  command -v "$b" >/dev/null || {
    echo "selftest: $b missing (apt-get install -y freeradius eapoltest sqlite3 openssl)" >&2
    exit 2
  }
done

T="$(mktemp -d /tmp/fr-selftest.XXXXXX)"
RUN="$T/radius"
cleanup() {
  "$HERE/stop.sh" "$RUN" || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
# An even port in 20000..39998 unless given (auth PORT, acct PORT+1).
PORT="${FR_TEST_PORT:-$((20000 + (RANDOM % 10000) * 2))}"
DB="$T/radius.sqlite"

# --- throwaway client PKI (P-256 ECDSA) -----------------------------------------------
P="$T/pki"; mkdir -p "$P"
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# ca NAME SUBJECT [ISSUER]: a CA certificate (self-signed without ISSUER)
ca() {
  newkey "$P/$1.key"
  printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$P/$1.ext"
  openssl req -new -key "$P/$1.key" -subj "$2" -out "$P/$1.csr" 2>/dev/null
  if [ $# -ge 3 ]; then
    openssl x509 -req -in "$P/$1.csr" -CA "$P/$3.pem" -CAkey "$P/$3.key" -CAcreateserial \
      -days 30 -sha256 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
  else
    openssl x509 -req -in "$P/$1.csr" -signkey "$P/$1.key" -days 30 -sha256 \
      -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
  fi
}
# ee NAME SUBJECT SAN ISSUER_PEM ISSUER_KEY: an end-entity like our CA issues
ee() {
  newkey "$P/$1.key"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" "subjectAltName=$3" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid" >"$P/$1.ext"
  openssl req -new -key "$P/$1.key" -subj "$2" -out "$P/$1.csr" 2>/dev/null
  openssl x509 -req -in "$P/$1.csr" -CA "$4" -CAkey "$5" -CAcreateserial -days 30 -sha256 \
    -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
ca root "/O=SNPN owner/CN=Root CA"
ca issuing "/O=SNPN owner/CN=Issuing CA" root
cat "$P/issuing.pem" "$P/root.pem" >"$P/client-ca-bundle.pem"
ee dev-cn "/O=SNPN owner/CN=dev1" "email:dev1@snpn.example" "$P/issuing.pem" "$P/issuing.key"
ee dev-uri "/O=SNPN owner" "URI:urn:dev:serial:4711" "$P/issuing.pem" "$P/issuing.key"
ee dev-empty "/" "URI:urn:dev:serial:4712" "$P/issuing.pem" "$P/issuing.key"
ca other "/O=Somebody else/CN=Other CA"
ee dev-other "/O=Somebody else/CN=dev1" "email:dev1@snpn.example" "$P/other.pem" "$P/other.key"

# --- server -----------------------------------------------------------------------------
# The database exists before the server, in WAL mode and with radcheck already created,
# as a Provisioning Server may leave it; start.sh adds the remaining standard tables.
sqlite3 -bail "$DB" >/dev/null <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE radcheck (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username varchar(64) NOT NULL default '',
	attribute varchar(64)  NOT NULL default '',
	op char(2) NOT NULL DEFAULT '==',
	value varchar(253) NOT NULL default ''
);
CREATE INDEX check_username ON radcheck(username);
EOF
t0=$(date +%s.%N)
SERVER_CA="$("$HERE/start.sh" "$RUN" "$DB" "$P/client-ca-bundle.pem" "$PORT")"
# A client certificate from the server's own throwaway CA must not pass either.
ee dev-srvca "/CN=dev1" "email:dev1@snpn.example" "$RUN/certs/server-ca.pem" "$RUN/certs/server-ca.key"

passed=0; failed=0
expect() { # expect ok|fail DESCRIPTION eapol.sh-args...
  local want="$1" what="$2"; shift 2
  local got=fail
  if "$HERE/eapol.sh" "$@" >"$T/last.out" 2>&1; then got=ok; fi
  if [ "$got" = "$want" ]; then
    echo "ok   $what"; passed=$((passed + 1))
  else
    echo "FAIL $what (wanted $want, got $got)"; failed=$((failed + 1))
    sed 's/^/     /' "$T/last.out"
  fi
}
sql() { sqlite3 -bail -cmd ".timeout 5000" "$DB" "$1"; }

# Rows are written while the server runs, as the Provisioning Server does.
sql "INSERT INTO radcheck (username, attribute, op, value) VALUES ('imsi-001010000000001', 'Cleartext-Password', ':=', 'pa ss\"w0rd''x');"
expect ok "ttls: right password (row inserted after start)" ttls imsi-001010000000001 "pa ss\"w0rd'x" "$SERVER_CA" "$PORT"
expect fail "ttls: wrong password" ttls imsi-001010000000001 "wrong" "$SERVER_CA" "$PORT"
expect fail "ttls: unknown user" ttls nobody@snpn.example "pa ss\"w0rd'x" "$SERVER_CA" "$PORT"
sql "DELETE FROM radcheck WHERE username = 'imsi-001010000000001';"
expect fail "ttls: user deleted from radcheck" ttls imsi-001010000000001 "pa ss\"w0rd'x" "$SERVER_CA" "$PORT"
sql "INSERT INTO radcheck (username, attribute, op, value) VALUES ('dev1@snpn.example', 'Cleartext-Password', ':=', 'second');"
expect ok "ttls: NAI user name" ttls dev1@snpn.example second "$SERVER_CA" "$PORT"

expect ok "tls: CN + SAN rfc822Name" tls dev1@snpn.example "$P/dev-cn.pem" "$P/dev-cn.key" "$SERVER_CA" "$PORT"
expect fail "tls: SAN rfc822Name, another identity claimed" tls dev2@snpn.example "$P/dev-cn.pem" "$P/dev-cn.key" "$SERVER_CA" "$PORT"
expect ok "tls: no CN, SAN URI" tls urn:dev:serial:4711 "$P/dev-uri.pem" "$P/dev-uri.key" "$SERVER_CA" "$PORT"
expect ok "tls: empty subject, SAN URI" tls urn:dev:serial:4712 "$P/dev-empty.pem" "$P/dev-empty.key" "$SERVER_CA" "$PORT"
expect fail "tls: certificate of another CA" tls dev1@snpn.example "$P/dev-other.pem" "$P/dev-other.key" "$SERVER_CA" "$PORT"
expect fail "tls: certificate of the server's own CA" tls dev1@snpn.example "$P/dev-srvca.pem" "$P/dev-srvca.key" "$SERVER_CA" "$PORT"
expect fail "tls: client does not trust the server CA" tls dev1@snpn.example "$P/dev-cn.pem" "$P/dev-cn.key" "$P/other.pem" "$PORT"

"$HERE/stop.sh" "$RUN"
if [ -s "$RUN/radiusd.pid" ]; then
  echo "FAIL stop.sh left $RUN/radiusd.pid"; failed=$((failed + 1))
else
  echo "ok   stop.sh"; passed=$((passed + 1))
fi
if [ "$failed" -ne 0 ] || [ "${FR_DEBUG:-0}" = 1 ]; then
  echo "--- last lines of $RUN/radius.log"; tail -n 40 "$RUN/radius.log" || true
fi
echo "server part took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
echo "freeradius selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
