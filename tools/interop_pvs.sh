#!/usr/bin/env bash
# Interop of the Provisioning Server's Ua* front door and EST with clients no one here
# wrote, against a running `snpn up` deployment:
#   - openssl s_client completes a TLS 1.3 external-PSK handshake (identity "3GPP-AKMA" ‖
#     A-KID, PSK = K_AF) and reads cacerts; with a wrong key it fails;
#   - curl through stunnel's PSK client mode runs cacerts, csrattrs and simpleenroll with a
#     CSR made by `openssl req`, over HTTP/1.1 and HTTP/2; `openssl verify` accepts the
#     certificate; a CSR for another identity is refused (403); a stunnel with a wrong key
#     gets no answer;
#   - after `snpn admin pvs cert revoke`, the CRL lists the certificate and
#     `openssl verify -crl_check` rejects it;
#   - `snpn ue onboard` enrolls a second UE, whose certificate `openssl verify` accepts.
# (A client offering only psk_ke cannot be made with stock tools: crates/tls-psk's tests
# send a hand-built ClientHello for that.)
# Usage: tools/interop_pvs.sh CONFIG.toml SNPN_BINARY WORKDIR
set -euo pipefail
CFG="$(realpath "$1")"; SNPN="$(realpath "$2")"; W="$3"
mkdir -p "$W"; cd "$W"
command -v stunnel >/dev/null || { echo "stunnel (Debian stunnel4) is needed" >&2; exit 1; }
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

UA=$(python3 -c "import tomllib,sys;print(tomllib.load(open(sys.argv[1],'rb'))['pvs']['ua']['listen'])" "$CFG")
PVS=$(python3 -c "import tomllib,sys;print(tomllib.load(open(sys.argv[1],'rb'))['pvs']['sbi']['listen'])" "$CFG")
FQDN=$(python3 -c "import tomllib,sys;print(tomllib.load(open(sys.argv[1],'rb'))['pvs']['fqdn'])" "$CFG")

# Two UEs: manufactured, imported into the DCS, registered in the ON (AKMA keys).
rm -f rec.jsonl
for n in 1 2; do
  "$SNPN" ue manufacture --out "ue$n.json" --record rec.jsonl --serial $((RANDOM * 1000 + n)) --config "$CFG" >/dev/null
done
"$SNPN" admin dcs import rec.jsonl --config "$CFG" >/dev/null
for n in 1 2; do "$SNPN" ue register --ue "ue$n.json" >/dev/null; done
OWNER="ci$RANDOM"
ID="d$RANDOM@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org"
"$SNPN" admin pvs owner add --id "$OWNER" --name "CI Works" --config "$CFG" >/dev/null
supi() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['supi'])" "$1"; }
printf '{"supi":"%s","identity":"%s"}\n{"supi":"%s"}\n' "$(supi ue1.json)" "$ID" "$(supi ue2.json)" > list.jsonl
"$SNPN" admin pvs devices import --owner "$OWNER" list.jsonl --config "$CFG" >/dev/null
KEYS=$("$SNPN" ue akma-key --ue ue1.json --af-fqdn "$FQDN" --show-key)
AKID=$(awk '/A-KID/{print $2}' <<<"$KEYS"); KAF=$(awk '/K_AF/{print $2}' <<<"$KEYS")
PSKID="3GPP-AKMA$AKID"

# openssl s_client: TLS 1.3 external PSK, then an HTTP request inside.
req=$'GET /.well-known/est/cacerts HTTP/1.1\r\nHost: pvs\r\nConnection: close\r\n\r\n'
out=$(printf '%s' "$req" | timeout 10 openssl s_client -connect "$UA" -tls1_3 -psk_identity "$PSKID" -psk "$KAF" -quiet -ign_eof 2>/dev/null || true)
check "openssl s_client: TLS 1.3 PSK handshake and EST cacerts" grep -q "HTTP/1.1 200" <<<"$out"
WRONG=$(printf '%064x' 7)
out=$(printf '%s' "$req" | timeout 10 openssl s_client -connect "$UA" -tls1_3 -psk_identity "$PSKID" -psk "$WRONG" -quiet -ign_eof 2>&1 || true)
check "openssl s_client: a wrong K_AF gets no channel" bash -c '! grep -q "HTTP/1.1 200" <<<"$0" && grep -qi "alert" <<<"$0"' "$out"
out=$(printf '%s' "$req" | timeout 10 openssl s_client -connect "$UA" -tls1_2 -psk_identity "$PSKID" -psk "$KAF" -quiet -ign_eof 2>&1 || true)
check "openssl s_client: TLS 1.2 refused (not enabled)" bash -c '! grep -q "HTTP/1.1 200" <<<"$0"' "$out"

# stunnel (PSK client mode) in front of curl.
tunnel() { # name port key
  printf '%s:%s\n' "$PSKID" "$3" > "$1.psk"; chmod 600 "$1.psk"
  cat > "$1.conf" <<EOF
foreground = yes
pid =
[est]
client = yes
accept = 127.0.0.1:$2
connect = $UA
PSKidentity = $PSKID
PSKsecrets = $PWD/$1.psk
sslVersionMin = TLSv1.3
ciphersuites = TLS_AES_128_GCM_SHA256
EOF
  stunnel "$1.conf" >"$1.log" 2>&1 &
  echo $!
}
PORT=$((20000 + RANDOM % 20000))
T1=$(tunnel good "$PORT" "$KAF"); T2=$(tunnel bad $((PORT + 1)) "$WRONG")
trap 'kill $T1 $T2 2>/dev/null || true' EXIT
sleep 1
E="http://127.0.0.1:$PORT/.well-known/est"
curl -fsS "$E/cacerts" | base64 -d > cacerts.p7
openssl pkcs7 -inform DER -in cacerts.p7 -print_certs -out cacerts.pem
check "curl via stunnel: cacerts holds the issuing CA and the root" test "$(grep -c BEGIN cacerts.pem)" -eq 2
awk '/BEGIN/{n++} {print > ("ca" n ".pem")}' cacerts.pem
ROOT=""; ISSUING=""
for f in ca1.pem ca2.pem; do
  if [ "$(openssl x509 -in $f -noout -subject_hash)" = "$(openssl x509 -in $f -noout -issuer_hash)" ]; then ROOT=$f; else ISSUING=$f; fi
done
attrs=$(curl -fsS "$E/csrattrs" | base64 -d | openssl asn1parse -inform DER)
check "curl via stunnel: csrattrs asks for P-256 and names the identity" bash -c 'grep -q prime256v1 <<<"$0" && grep -q "Subject Alternative Name" <<<"$0"' "$attrs"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key \
  -subj "/CN=$ID" -addext "subjectAltName=email:$ID" -outform DER -out csr.der 2>/dev/null
code=$(base64 csr.der | curl -sS -o cert.b64 -w '%{http_code}' -H "Content-Type: application/pkcs10" --data-binary @- "$E/simpleenroll")
check "curl via stunnel: simpleenroll with an openssl CSR (200)" test "$code" = 200
base64 -d cert.b64 | openssl pkcs7 -inform DER -print_certs -out cert.pem
check "openssl verify accepts the certificate" openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" cert.pem
check "the certificate carries the identity" bash -c 'openssl x509 -in cert.pem -noout -ext subjectAltName | grep -q "email:$0"' "$ID"
check "the certificate is for the key openssl made" test "$(openssl x509 -in cert.pem -noout -pubkey)" = "$(openssl pkey -in dev.key -pubout)"
code=$(curl -sS -o /dev/null -w '%{http_version} %{http_code}' --http2-prior-knowledge "$E/cacerts")
check "HTTP/2 inside the channel" test "$code" = "2 200"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key \
  -subj "/CN=other@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org" -outform DER -out o.der 2>/dev/null
body=$(base64 o.der | curl -sS -w '\n%{http_code}' -H "Content-Type: application/pkcs10" --data-binary @- "$E/simpleenroll")
check "a CSR for another identity: 403 IDENTITY_NOT_ALLOWED" bash -c 'grep -q IDENTITY_NOT_ALLOWED <<<"$0" && tail -1 <<<"$0" | grep -q 403' "$body"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Content-Type: text/plain" --data-binary @csr.der "$E/simpleenroll")
check "wrong content type: 415" test "$code" = 415
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$((PORT + 1))/.well-known/est/cacerts" || true)
check "stunnel with a wrong K_AF: no answer" test "$code" = 000

# Revocation: the CRL lists the certificate; openssl's CRL check rejects it.
SERIAL=$(openssl x509 -in cert.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
"$SNPN" admin pvs cert revoke --owner "$OWNER" "$SERIAL" --reason keyCompromise --config "$CFG" >/dev/null
curl -fsS "http://$PVS/pvs/v1/owners/$OWNER/crl" | openssl crl -inform DER -out crl.pem
check "the CRL verifies under the issuing CA" openssl crl -in crl.pem -CAfile "$ISSUING" -noout
check "openssl verify -crl_check rejects the revoked certificate" bash -c '! openssl verify -crl_check -CAfile "$0" -untrusted "$1" -CRLfile crl.pem cert.pem' "$ROOT" "$ISSUING"

# snpn's own UE agent: channel, key made on the UE, EST, deregistration.
"$SNPN" ue onboard --ue ue2.json --config "$CFG" > onboard.log
check "snpn ue onboard: enrolled and deregistered" grep -q "deregistered" onboard.log
check "openssl verify accepts the UE's certificate" openssl verify -CAfile "$ROOT" -untrusted "$ISSUING" ue2.json.crt.pem
check "the UE's private key file is private" test "$(stat -c %a ue2.json.key.pem)" = 600

echo
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
