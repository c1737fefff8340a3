#!/usr/bin/env bash
# Run one EAP authentication with eapol_test (Debian package `eapoltest`) against the
# FreeRADIUS started by tools/freeradius/start.sh (127.0.0.1, secret testing123).
# Usage:
#   tools/freeradius/eapol.sh ttls USER PASSWORD SERVER_CA [PORT]
#   tools/freeradius/eapol.sh tls IDENTITY CERT_PEM KEY_PEM SERVER_CA [PORT]
# SERVER_CA is the CA the server certificate must chain to (start.sh prints it).
# PORT defaults to 18120. Exit 0 only when eapol_test reports SUCCESS; otherwise the
# last lines of its output go to stderr and the exit status is non-zero.
# EAPOL_TIMEOUT (seconds, default 10) bounds the exchange; EAPOL_VERBOSE=1 prints the
# whole eapol_test output.
set -euo pipefail

usage() {
  echo "usage: $0 ttls USER PASSWORD SERVER_CA [PORT]" >&2
  echo "       $0 tls IDENTITY CERT_PEM KEY_PEM SERVER_CA [PORT]" >&2
  exit 2
}
command -v eapol_test >/dev/null || { echo "eapol_test not found (apt-get install -y eapoltest)" >&2; exit 2; }
[ $# -ge 1 ] || usage
METHOD="$1"; shift

# wpa_supplicant accepts identity and password as unquoted hex, which sidesteps quoting.
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# File paths go into quoted strings; they must not contain double quotes or newlines.
path() {
  local p; p="$(realpath "$1")"
  [ -r "$p" ] || { echo "eapol.sh: $1 is not readable" >&2; exit 2; }
  case "$p" in *'"'* | *$'\n'*) echo "eapol.sh: unsupported path $p" >&2; exit 2 ;; esac
  printf '%s' "$p"
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
CONF="$TMP/eapol.conf"

case "$METHOD" in
  ttls)
    (($# >= 3 && $# <= 4)) || usage
    USER_ID="$1"; PASSWORD="$2"; SERVER_CA="$(path "$3")"; PORT="${4:-18120}"
    # Outer identity is anonymous; the real one travels inside the tunnel (inner PAP).
    cat >"$CONF" <<EOF
network={
	key_mgmt=WPA-EAP
	eap=TTLS
	anonymous_identity="anonymous"
	identity=$(hex "$USER_ID")
	password=$(hex "$PASSWORD")
	ca_cert="$SERVER_CA"
	phase2="auth=PAP"
}
EOF
    ;;
  tls)
    (($# >= 4 && $# <= 5)) || usage
    IDENTITY="$1"; CERT="$(path "$2")"; KEY="$(path "$3")"; SERVER_CA="$(path "$4")"
    PORT="${5:-18120}"
    cat >"$CONF" <<EOF
network={
	key_mgmt=WPA-EAP
	eap=TLS
	identity=$(hex "$IDENTITY")
	client_cert="$CERT"
	private_key="$KEY"
	ca_cert="$SERVER_CA"
}
EOF
    ;;
  *) usage ;;
esac
case "$PORT" in '' | *[!0-9]*) echo "PORT must be a number" >&2; exit 2 ;; esac

rc=0
eapol_test -c "$CONF" -a 127.0.0.1 -p "$PORT" -s testing123 -t "${EAPOL_TIMEOUT:-10}" \
  >"$TMP/out" 2>&1 || rc=$?
if [ "${EAPOL_VERBOSE:-0}" = 1 ]; then cat "$TMP/out"; fi
# eapol_test exits non-zero on failure; also demand its final SUCCESS line.
if [ "$rc" -eq 0 ] && tail -n 1 "$TMP/out" | grep -qx 'SUCCESS'; then
  echo "eapol_test $METHOD: SUCCESS"
  exit 0
fi
{
  echo "eapol_test $METHOD: FAILURE (exit $rc); last lines:"
  tail -n 15 "$TMP/out"
} >&2
[ "$rc" -ne 0 ] || rc=1
exit "$rc"
