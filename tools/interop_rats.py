#!/usr/bin/env python3
"""Interop of snpn's RATS pieces with implementations no one here wrote, against a running
`snpn up` deployment:

1. EATs made by python `cwt` (COSE_Sign1 ES256/EdDSA, COSE_Mac0 HS256), by `pycose`
   (tagged 61(18), bare 18, 17) and by PyJWT (ES256, EdDSA JWTs) for devices imported
   here are affirmed by the DCS; wrong keys, replayed nonces and `alg: none` are
   contraindicated. Every EAR is verified with PyJWT under the JWK of the DCS's discovery
   document, and checked against draft-ietf-rats-ear-04.
2. Evidence made by snpn's own Attester (`snpn ue evidence`) verifies in python `cwt`,
   in `pycose` and (JWT) in PyJWT, for ES256, EdDSA and HS256; `snpn ue attest` is affirmed.

Usage: tools/interop_rats.py CONFIG.toml --snpn PATH/TO/snpn --workdir DIR
Needs: cwt, pycose, pyjwt, cbor2, cryptography."""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

import cbor2
import cwt
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cwt import COSEKey
from pycose.algorithms import EdDSA as PcEdDSA, Es256 as PcEs256, HMAC256 as PcHmac256
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey, SymmetricKey
from pycose.messages import CoseMessage, Mac0Message, Sign1Message

EAT_PROFILE = "tag:snpn.example,2026:ue-onboarding#1"
EAR_PROFILE = "tag:ietf.org,2026:rats/ear#04"
MEASUREMENT_FORMAT = 65000

ap = argparse.ArgumentParser()
ap.add_argument("config")
ap.add_argument("--snpn", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)

with open(args.config, "rb") as f:
    cfg = tomllib.load(f)
DCS = "http://" + cfg["dcs"]["sbi"]["listen"]


def token(role):
    for c in cfg["dcs"]["clients"]:
        if role in c["roles"]:
            return c["token"]
    sys.exit(f"no {role} client at the DCS")


ADMIN, RP = token("admin"), token("relying-party")
failures = []


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def http(method, path, tok=None, body=None, ctype=None):
    req = urllib.request.Request(DCS + path, data=body, method=method)
    if tok:
        req.add_header("Authorization", "Bearer " + tok)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


status, _, body = http("GET", "/.well-known/veraison/verification")
assert status == 200, body
disco = json.loads(body)
EAR_KEY = jwt.PyJWK(disco["ear-verification-key"], algorithm="ES256")
assert disco["service-state"] == "READY"
assert "application/eat+cwt" in disco["media-types"]


def new_session(binding=None):
    q = "?nonceSize=32" + (f"&binding={b64u(binding)}" if binding else "")
    status, headers, body = http("POST", "/challenge-response/v1/newSession" + q, RP)
    assert status == 201, body
    loc = headers.get("Location") or headers.get("location")
    return loc.split("/")[-1], unb64u(json.loads(body)["nonce"])


def appraise(sid, nonce, ctype, tok):
    """Submits; returns the EAR's `ue` submodule after verifying the EAR with PyJWT."""
    status, _, body = http("POST", f"/challenge-response/v1/session/{sid}", RP, tok, ctype)
    assert status == 200, (status, body)
    s = json.loads(body)
    assert s["status"] == "complete", s
    ear = jwt.decode(s["result"], EAR_KEY, algorithms=["ES256"], options={"require": ["iat", "exp"]})
    assert ear["eat_profile"] == EAR_PROFILE, ear
    assert set(ear["ear_verifier_id"]) == {"developer", "build"}, ear
    assert ear["eat_nonce"] == b64u(nonce), ear
    sub = ear["submods"]["ue"]
    order = ["none", "affirming", "warning", "contraindicated"]
    assert order.index(ear["ear_status"]) >= order.index(sub["ear_status"]), ear
    return sub


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def rand_digits(n):
    return "".join(str(b % 10) for b in os.urandom(n))


# ---- 1. foreign attesters --------------------------------------------------------------
HW, SW, VER = b"py-model", "py-fw", "2.0"
DIGEST = hashlib.sha256(b"py-fw 2.0").digest()
REFERENCE = {
    "oemid": {"pen": 32473},
    "hwmodel": HW.hex(),
    "swname": SW,
    "swversions": [VER],
    "measurements": [{"name": "fw", "digest": DIGEST.hex()}],
}

es_key = ec.generate_private_key(ec.SECP256R1())
ed_key = ed25519.Ed25519PrivateKey.generate()
hs_key = os.urandom(32)


def pem_private(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def pem_public(k):
    return k.public_key().public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()


devices = {}
for name, alg, key in [("es", "ES256", pem_public(es_key)), ("ed", "EdDSA", pem_public(ed_key)),
                       ("hs", "HS256", hs_key.hex())]:
    ueid = b"\x01" + os.urandom(16)
    rec = {"supi": "imsi-99970" + rand_digits(10), "k": os.urandom(16).hex(), "opc": os.urandom(16).hex(),
           "ueid": ueid.hex(), "attestation": {"alg": alg, "key": key, "reference": REFERENCE}}
    status, _, body = http("POST", "/dcs-admin/v1/devices", ADMIN, json.dumps(rec).encode(), "application/json")
    assert status == 201, body
    devices[name] = ueid


def claims(nonce, ueid):
    return {10: nonce, 256: ueid, 258: 32473, 259: HW, 262: True, 263: 3, 265: EAT_PROFILE,
            270: SW, 271: [VER], 273: [[MEASUREMENT_FORMAT, cbor2.dumps(["fw", DIGEST])]]}


def json_claims(nonce, ueid):
    return {"eat_nonce": b64u(nonce), "ueid": b64u(ueid), "oemid": 32473, "hwmodel": b64u(HW),
            "oemboot": True, "dbgstat": "disabled-permanently", "eat_profile": EAT_PROFILE,
            "swname": SW, "swversion": [VER],
            "measurements": [[MEASUREMENT_FORMAT, b64u(cbor2.dumps(["fw", DIGEST]))]], "iat": int(time.time())}


def cwt_key(dev):
    kid = devices[dev]
    if dev == "es":
        return COSEKey.from_pem(pem_private(es_key), alg="ES256", kid=kid)
    if dev == "ed":
        return COSEKey.from_pem(pem_private(ed_key), alg="EdDSA", kid=kid)
    return COSEKey.from_symmetric_key(hs_key, alg="HS256", kid=kid)


def pycose_token(dev, nonce, wrap):
    payload = cbor2.dumps(claims(nonce, devices[dev]))
    if dev == "hs":
        msg = Mac0Message(phdr={Algorithm: PcHmac256}, uhdr={KID: devices[dev]}, payload=payload)
        msg.key = SymmetricKey(k=hs_key)
    else:
        msg = Sign1Message(phdr={Algorithm: PcEs256 if dev == "es" else PcEdDSA},
                           uhdr={KID: devices[dev]}, payload=payload)
        msg.key = CoseKey.from_pem_private_key(pem_private(es_key if dev == "es" else ed_key).decode())
    cose = msg.encode()  # tagged 18 or 17
    if wrap:
        return cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(cose)))
    return cose


def affirmed(sub):
    return sub["ear_status"] == "affirming" and sub["ear_trustworthiness_vector"] == {
        "instance-identity": 2, "configuration": 2, "executables": 2, "hardware": 2}


for dev in ["es", "ed", "hs"]:
    sid, nonce = new_session()
    tok = cwt.encode(claims(nonce, devices[dev]), cwt_key(dev), tagged=True)
    sub = appraise(sid, nonce, "application/eat+cwt", tok)
    check(f"python cwt {dev} CWT (61-tagged) affirmed", affirmed(sub), sub)
    check(f"python cwt {dev}: EAR names the UEID",
          sub["ear_attester_claims"]["ueid"] == b64u(devices[dev]), sub)
    for wrap in (True, False):
        sid, nonce = new_session()
        sub = appraise(sid, nonce, "application/eat+cwt", pycose_token(dev, nonce, wrap))
        check(f"pycose {dev} {'61(COSE)' if wrap else 'bare COSE tag'} affirmed", affirmed(sub), sub)

# CWT with binding data as a second nonce.
binding = os.urandom(32)
sid, nonce = new_session(binding)
c = claims(nonce, devices["es"])
c[10] = [nonce, binding]
sub = appraise(sid, nonce, "application/eat+cwt", cwt.encode(c, cwt_key("es"), tagged=True))
check("python cwt with binding data affirmed", affirmed(sub), sub)
sid, nonce = new_session(binding)
sub = appraise(sid, nonce, "application/eat+cwt", cwt.encode(claims(nonce, devices["es"]), cwt_key("es")))
check("python cwt without the session's binding data contraindicated",
      sub["ear_status"] == "contraindicated" and any("binding" in r for r in sub["ear_verifier_claims"]["reasons"]), sub)

# JWTs from PyJWT.
for dev, key, alg in [("es", pem_private(es_key), "ES256"), ("ed", pem_private(ed_key), "EdDSA"),
                      ("hs", hs_key, "HS256")]:
    sid, nonce = new_session()
    tok = jwt.encode(json_claims(nonce, devices[dev]), key, algorithm=alg)
    sub = appraise(sid, nonce, "application/eat+jwt", tok.encode())
    check(f"PyJWT {alg} EAT affirmed", affirmed(sub), sub)

# Bad evidence from foreign tools.
sid, nonce = new_session()
other = COSEKey.from_pem(pem_private(ec.generate_private_key(ec.SECP256R1())), alg="ES256", kid=devices["es"])
sub = appraise(sid, nonce, "application/eat+cwt", cwt.encode(claims(nonce, devices["es"]), other))
check("python cwt under a wrong key contraindicated (instance-identity 99)",
      sub["ear_status"] == "contraindicated" and sub["ear_trustworthiness_vector"]["instance-identity"] == 99, sub)
sid, nonce = new_session()
sid2, nonce2 = new_session()
sub = appraise(sid2, nonce2, "application/eat+cwt", pycose_token("ed", nonce, True))
check("evidence answering another session's nonce contraindicated",
      sub["ear_status"] == "contraindicated" and any("nonce" in r for r in sub["ear_verifier_claims"]["reasons"]), sub)
none_tok = b64u(b'{"alg":"none","typ":"JWT"}') + "." + b64u(json.dumps(json_claims(nonce, devices["es"])).encode()) + "."
sub = appraise(sid, nonce, "application/eat+jwt", none_tok.encode())
check("alg none contraindicated", sub["ear_status"] == "contraindicated", sub)
sid, nonce = new_session()
tok = jwt.encode(json_claims(nonce, devices["es"]), hs_key, algorithm="HS256")
sub = appraise(sid, nonce, "application/eat+jwt", tok.encode())
check("HS256 token for an ES256 device contraindicated (no algorithm substitution)",
      sub["ear_status"] == "contraindicated", sub)

# ---- 2. snpn's Attester, verified by python ---------------------------------------------
work = args.workdir
rec_file = os.path.join(work, "records.jsonl")
if os.path.exists(rec_file):
    os.remove(rec_file)
ues = {}
for alg in ["es256", "eddsa", "hs256"]:
    ue = os.path.join(work, f"ue-{alg}.json")
    subprocess.run([args.snpn, "ue", "manufacture", "--out", ue, "--record", rec_file,
                    "--serial", rand_digits(9), "--attestation-alg", alg, "--config", args.config],
                   check=True, stdout=subprocess.DEVNULL)
    ues[alg] = ue
subprocess.run([args.snpn, "admin", "dcs", "import", rec_file, "--config", args.config], check=True,
               stdout=subprocess.DEVNULL)
records = [json.loads(line) for line in open(rec_file)]
for alg, rec in zip(["es256", "eddsa", "hs256"], records):
    ue = ues[alg]
    nonce = os.urandom(32)
    ueid = bytes.fromhex(rec["ueid"])
    a = rec["attestation"]
    ev = os.path.join(work, f"ev-{alg}")
    subprocess.run([args.snpn, "ue", "evidence", "--ue", ue, "--nonce", b64u(nonce), "--out", ev + ".cbor"], check=True)
    subprocess.run([args.snpn, "ue", "evidence", "--ue", ue, "--nonce", b64u(nonce), "--format", "jwt",
                    "--out", ev + ".jwt"], check=True)
    tok = open(ev + ".cbor", "rb").read()
    check(f"snpn {alg} CWT starts with tag 61", tok[:2] == b"\xd8\x3d", tok[:4].hex())
    if alg == "hs256":
        key = COSEKey.from_symmetric_key(bytes.fromhex(a["key"]), alg="HS256", kid=ueid)
    else:
        key = COSEKey.from_pem(a["key"].encode(), alg="ES256" if alg == "es256" else "EdDSA", kid=ueid)
    try:
        c = cwt.decode(tok, key)
        check(f"snpn {alg} CWT verifies in python cwt", c[10] == nonce and c[256] == ueid and c[265] == EAT_PROFILE, c)
    except Exception as e:  # noqa: BLE001 - report any failure of the foreign verifier
        check(f"snpn {alg} CWT verifies in python cwt", False, repr(e))
    inner = cbor2.dumps(cbor2.loads(tok).value)  # pycose cannot decode tag 61: strip it
    msg = CoseMessage.decode(inner)
    if alg == "hs256":
        msg.key = SymmetricKey(k=bytes.fromhex(a["key"]))
        ok = msg.verify_tag()
    else:
        msg.key = CoseKey.from_pem_public_key(a["key"])
        ok = msg.verify_signature()
    check(f"snpn {alg} CWT verifies in pycose", ok and cbor2.loads(msg.payload)[10] == nonce)
    jtok = open(ev + ".jwt").read().strip()
    jkey = bytes.fromhex(a["key"]) if alg == "hs256" else a["key"]
    jalg = {"es256": "ES256", "eddsa": "EdDSA", "hs256": "HS256"}[alg]
    try:
        jc = jwt.decode(jtok, jkey, algorithms=[jalg])
        check(f"snpn {alg} JWT verifies in PyJWT", jc["eat_nonce"] == b64u(nonce) and jc["ueid"] == b64u(ueid), jc)
    except Exception as e:  # noqa: BLE001
        check(f"snpn {alg} JWT verifies in PyJWT", False, repr(e))
    r = subprocess.run([args.snpn, "ue", "attest", "--ue", ue, "--config", args.config], capture_output=True, text=True)
    check(f"snpn ue attest ({alg}) affirmed", r.returncode == 0 and "Affirming" in r.stdout, r.stdout + r.stderr)

print(f"\n{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
