#!/usr/bin/env bash
# Interop of the Provisioning Server's CMP (RFC 9810 / RFC 9483 / RFC 6712) with
# `openssl cmp` (3.0) through stunnel's PSK client mode (the AKMA channel), against a
# running `snpn up` deployment:
#   - ir with PasswordBasedMac (-ref A-KID -secret pass:CMP-secret -mac hmacWithSHA256),
#     explicit certConf; ir with -implicit_confirm; p10cr with an openssl CSR; kur signed
#     with the first certificate (-cert/-key; the answer is signed by the owner's issuing
#     CA: -srvcert); rr of the first certificate; genm -infotype caCerts;
#   - `openssl verify` on every certificate; after rr, `openssl verify -crl_check` fails;
#   - a wrong secret → error message badMessageCheck, nothing issued; a subject of another
#     identity → notAuthorized, nothing issued; openssl's default HMAC-SHA1 → badAlg;
#   - `snpn ue onboard --method cmp` and `openssl verify` of its certificate.
# Usage: tools/interop_cmp.sh CONFIG.toml SNPN_BINARY WORKDIR
set -euo pipefail
CFG="$(realpath "$1")"; SNPN="$(realpath "$2")"; W="$3"
mkdir -p "$W"; cd "$W"
command -v stunnel >/dev/null || { echo "stunnel (Debian stunnel4) is needed" >&2; exit 1; }
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
toml() { python3 -c "import tomllib,sys;d=tomllib.load(open(sys.argv[1],'rb'))
for k in sys.argv[2].split('.'): d=d[k]
print(d)" "$CFG" "$1"; }
UA=$(toml pvs.ua.listen); PVS=$(toml pvs.sbi.listen); FQDN=$(toml pvs.fqdn); AMF=$(toml amf.sbi.listen)

rm -f rec.jsonl
for n in 1 2; do
  "$SNPN" ue manufacture --out "ue$n.json" --record rec.jsonl --serial $((RANDOM * 1000 + n)) --config "$CFG" >/dev/null
done
"$SNPN" admin dcs import rec.jsonl --config "$CFG" >/dev/null
for n in 1 2; do "$SNPN" ue register --ue "ue$n.json" --amf "http://$AMF" >/dev/null; done
OWNER="cmp$RANDOM"
ID="d$RANDOM@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org"
"$SNPN" admin pvs owner add --id "$OWNER" --name "CMP Works" --config "$CFG" >/dev/null
supi() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['supi'])" "$1"; }
printf '{"supi":"%s","identity":"%s"}\n{"supi":"%s"}\n' "$(supi ue1.json)" "$ID" "$(supi ue2.json)" > list.jsonl
"$SNPN" admin pvs devices import --owner "$OWNER" list.jsonl --config "$CFG" >/dev/null
KEYS=$("$SNPN" ue akma-key --ue ue1.json --af-fqdn "$FQDN" --show-key)
AKID=$(awk '/A-KID/{print $2}' <<<"$KEYS"); KAF=$(awk '/K_AF/{print $2}' <<<"$KEYS")
SECRET=$(awk '/^CMP/{print $2}' <<<"$KEYS")
PSKID="3GPP-AKMA$AKID"
printf '%s:%s\n' "$PSKID" "$KAF" > t.psk; chmod 600 t.psk
PORT=$((20000 + RANDOM % 20000))
cat > t.conf <<EOF
foreground = yes
pid =
[cmp]
client = yes
accept = 127.0.0.1:$PORT
connect = $UA
PSKidentity = $PSKID
PSKsecrets = $PWD/t.psk
sslVersionMin = TLSv1.3
ciphersuites = TLS_AES_128_GCM_SHA256
EOF
stunnel t.conf > t.log 2>&1 &
T=$!
trap 'kill $T 2>/dev/null || true' EXIT
sleep 1
S="127.0.0.1:$PORT"
count() { "$SNPN" admin pvs cert list --owner "$OWNER" --config "$CFG" | grep -c .; }
MAC=(-ref "$AKID" -secret "pass:$SECRET" -mac hmacWithSHA256)
CMP=(openssl cmp -server "$S" -path /.well-known/cmp -recipient "/CN=unused" -batch)

# genm caCerts: the owner's issuing CA and root.
out=$("${CMP[@]}" "${MAC[@]}" -cmd genm -infotype caCerts 2>&1 || true)
check "openssl cmp genm caCerts (PBM): genp with id-it-caCerts" grep -q "id-it-caCerts" <<<"$out"

# ir with PBM and explicit certConf; caPubs hold the root, extraCerts the chain.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k1.pem 2>/dev/null
out=$("${CMP[@]}" "${MAC[@]}" -cmd ir -newkey k1.pem -subject "/CN=$ID" -certout c1.pem -cacertsout root.pem -extracertsout chain.pem 2>&1 || true)
check "openssl cmp ir (PBM, certConf): certificate received" test -s c1.pem
grep -q "sending CERTCONF" <<<"$out" && ok "  explicit certConf sent" || fail "  explicit certConf sent: $out"
ISSUING=issuing.pem
openssl x509 -in chain.pem -out "$ISSUING" 2>/dev/null || true
check "openssl verify accepts the ir certificate" openssl verify -CAfile root.pem -untrusted chain.pem c1.pem
check "  it carries the identity" bash -c 'openssl x509 -in c1.pem -noout -ext subjectAltName | grep -q "email:$0"' "$ID"

# ir with implicit confirmation.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out k2.pem 2>/dev/null
out=$("${CMP[@]}" "${MAC[@]}" -cmd ir -implicit_confirm -newkey k2.pem -subject "/CN=$ID" -certout c2.pem 2>&1 || true)
check "openssl cmp ir -implicit_confirm: certificate, no certConf" bash -c 'test -s c2.pem && ! grep -q "sending CERTCONF" <<<"$0"' "$out"
check "openssl verify accepts it" openssl verify -CAfile root.pem -untrusted chain.pem c2.pem

# p10cr with an openssl CSR.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k3.pem -subj "/CN=$ID" -out csr3.pem 2>/dev/null
out=$("${CMP[@]}" "${MAC[@]}" -cmd p10cr -csr csr3.pem -certout c3.pem 2>&1 || true)
check "openssl cmp p10cr: certificate received" test -s c3.pem
[ -s c3.pem ] || echo "$out" | tail -5
check "openssl verify accepts it" openssl verify -CAfile root.pem -untrusted chain.pem c3.pem

# kur signed with the first certificate; the answer is signed by the issuing CA.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k4.pem 2>/dev/null
SIG=(-cert c1.pem -key k1.pem -srvcert "$ISSUING" -ignore_keyusage)
out=$("${CMP[@]}" "${SIG[@]}" -cmd kur -newkey k4.pem -certout c4.pem 2>&1 || true)
check "openssl cmp kur (signature protection): certificate received" test -s c4.pem
[ -s c4.pem ] || echo "$out" | tail -5
check "openssl verify accepts it" openssl verify -CAfile root.pem -untrusted chain.pem c4.pem

# Negative: a wrong secret → badMessageCheck, nothing issued.
n0=$(count)
out=$("${CMP[@]}" -ref "$AKID" -secret pass:wrong -mac hmacWithSHA256 -unprotected_errors -cmd ir -newkey k1.pem -subject "/CN=$ID" -certout bad.pem 2>&1 || true)
check "a wrong secret: error message badMessageCheck" bash -c 'grep -qi "badMessageCheck" <<<"$0" && ! test -s bad.pem' "$out"
# Negative: a subject of another identity → notAuthorized.
out=$("${CMP[@]}" "${MAC[@]}" -cmd ir -newkey k1.pem -subject "/CN=other@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org" -certout bad.pem 2>&1 || true)
check "another identity: rejection notAuthorized" bash -c 'grep -qi "notAuthorized" <<<"$0" && ! test -s bad.pem' "$out"
# Negative: openssl's default MAC (HMAC-SHA1) → badAlg.
out=$("${CMP[@]}" -ref "$AKID" -secret "pass:$SECRET" -cmd ir -newkey k1.pem -subject "/CN=$ID" -certout bad.pem 2>&1 || true)
check "HMAC-SHA1 PBM: error message badAlg" bash -c 'grep -qi "badAlg" <<<"$0" && ! test -s bad.pem' "$out"
check "nothing issued by the refused requests ($n0 certificates)" test "$(count)" = "$n0" -a "$n0" -ge 4

# rr of the first certificate (signed with it); the CRL lists it.
out=$("${CMP[@]}" "${SIG[@]}" -cmd rr -oldcert c1.pem -revreason 1 2>&1 || true)
check "openssl cmp rr: revocation accepted" grep -qi "revocation accepted\|received RP" <<<"$out"
curl -fsS "http://$PVS/pvs/v1/owners/$OWNER/crl" | openssl crl -inform DER -out crl.pem
check "openssl verify -crl_check rejects the revoked certificate" bash -c '! openssl verify -crl_check -CAfile root.pem -untrusted chain.pem -CRLfile crl.pem c1.pem 2>/dev/null'
check "  and accepts the kur certificate" openssl verify -crl_check -CAfile root.pem -untrusted chain.pem -CRLfile crl.pem c4.pem

# snpn's own UE agent over CMP.
"$SNPN" ue onboard --method cmp --ue ue2.json --config "$CFG" > onboard.log
check "snpn ue onboard --method cmp: enrolled" test -s ue2.json.crt.pem
check "openssl verify accepts the UE's certificate" openssl verify -CAfile root.pem -untrusted chain.pem ue2.json.crt.pem

echo
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
