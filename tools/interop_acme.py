#!/usr/bin/env python3
"""ACME interop: the Python `acme` library (certbot's) against the PVS's ACME server,
through stunnel in TLS-PSK client mode (the client speaks plain HTTP to stunnel, which
opens the AKMA channel with K_AF). `dns` + `http-01` with External Account Binding (kid =
A-KID, key = the EAB key derived from K_AF); this script serves the challenge file itself;
the certificate is checked with `openssl verify`. Negative checks: missing and wrong EAB,
a replayed nonce.

The deployment's config must have, under [pvs.acme]: scheme = "http" (the clients reach
the channel through stunnel), dns_suffixes = ["acme.test", ...] and http01_address =
"127.0.0.1:<port>" (where this script serves http-01).

usage: interop_acme.py CONFIG --snpn BIN --workdir DIR
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import http.server
import functools

import josepy as jose
import requests
from acme import client, messages, errors, challenges
from acme import jws as acme_jws
from cryptography.hazmat.primitives.asymmetric import ec

fails = 0


def check(what, ok, detail=""):
    global fails
    if ok:
        print(f"ok   {what}")
    else:
        fails += 1
        print(f"FAIL {what} {detail}")


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--snpn", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    cfg_path = os.path.realpath(a.config)
    snpn = os.path.realpath(a.snpn)
    cfg = tomllib.load(open(cfg_path, "rb"))
    pvs = cfg["pvs"]
    acme_cfg = pvs.get("acme", {})
    if acme_cfg.get("scheme") != "http" or not acme_cfg.get("dns_suffixes") or not acme_cfg.get("http01_address"):
        print("the config needs [pvs.acme] scheme = \"http\", dns_suffixes and http01_address", file=sys.stderr)
        return 2
    os.makedirs(a.workdir, exist_ok=True)
    os.chdir(a.workdir)
    ua, fqdn = pvs["ua"]["listen"], pvs["fqdn"]
    suffix = acme_cfg["dns_suffixes"][0].lstrip(".")
    h01_host, h01_port = acme_cfg["http01_address"].rsplit(":", 1)

    # A UE on an owner's list, registered (AKMA).
    serial = str(random.randint(10**6, 10**7))
    if os.path.exists("rec.jsonl"):
        os.remove("rec.jsonl")
    run(snpn, "ue", "manufacture", "--out", "ue.json", "--record", "rec.jsonl", "--serial", serial, "--config", cfg_path)
    run(snpn, "ue", "manufacture", "--out", "ue2.json", "--record", "rec.jsonl", "--serial", str(int(serial) + 1), "--config", cfg_path)
    run(snpn, "admin", "dcs", "import", "rec.jsonl", "--config", cfg_path)
    run(snpn, "ue", "register", "--ue", "ue.json")
    run(snpn, "ue", "register", "--ue", "ue2.json")
    owner = f"acme{random.randint(0, 99999)}"
    run(snpn, "admin", "pvs", "owner", "add", "--id", owner, "--name", "ACME Interop", "--config", cfg_path)
    supi = json.load(open("ue.json"))["supi"]
    ue2 = json.load(open("ue2.json"))
    open("list.jsonl", "w").write(json.dumps({"supi": supi}) + "\n" + json.dumps({"supi": ue2["supi"], "ueid": ue2["ueid"]}) + "\n")
    run(snpn, "admin", "pvs", "devices", "import", "--owner", owner, "list.jsonl", "--config", cfg_path)
    keys = run(snpn, "ue", "akma-key", "--ue", "ue.json", "--af-fqdn", fqdn, "--show-key")
    kv = {l.split()[0]: l.split()[1] for l in keys.splitlines() if len(l.split()) >= 2}
    akid, kaf, eab_key = kv["A-KID"], kv["K_AF"], kv["EAB"]

    # stunnel: PSK client mode in front of the plain-HTTP client.
    port = free_port()
    psk_id = f"3GPP-AKMA{akid}"
    open("acme.psk", "w").write(f"{psk_id}:{kaf}\n")
    os.chmod("acme.psk", 0o600)
    open("acme-stunnel.conf", "w").write(
        f"foreground = yes\npid =\n[acme]\nclient = yes\naccept = 127.0.0.1:{port}\nconnect = {ua}\n"
        f"PSKidentity = {psk_id}\nPSKsecrets = {os.path.realpath('acme.psk')}\nsslVersionMin = TLSv1.3\n"
        "ciphersuites = TLS_AES_128_GCM_SHA256\n"
    )
    tunnel = subprocess.Popen(["stunnel", "acme-stunnel.conf"], stdout=open("stunnel.log", "w"), stderr=subprocess.STDOUT)
    # The http-01 responder the PVS's validation connects to.
    www = os.path.realpath("www")
    shutil.rmtree(www, ignore_errors=True)
    os.makedirs(f"{www}/.well-known/acme-challenge")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=www)
    httpd = http.server.ThreadingHTTPServer((h01_host, int(h01_port)), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}/acme"
        directory = messages.Directory.from_json(requests.get(f"{base}/directory", timeout=10).json())
        check("directory requires external account binding", directory.meta.external_account_required)

        def fresh_client():
            key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
            net = client.ClientNetwork(key, alg=jose.ES256, user_agent="snpn-interop")
            return key, net, client.ClientV2(directory, net)

        # Missing EAB, then a wrong EAB key: refused, no account.
        key, net, c = fresh_client()
        try:
            c.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
            check("newAccount without EAB refused", False)
        except errors.Error as e:
            check("newAccount without EAB: externalAccountRequired", getattr(e, "typ", "").endswith("externalAccountRequired"), str(e))
        wrong = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        eab = messages.ExternalAccountBinding.from_data(account_public_key=key.public_key(), kid=akid, hmac_key=wrong, directory=directory)
        try:
            c.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True, external_account_binding=eab))
            check("newAccount with a wrong EAB key refused", False)
        except errors.Error as e:
            check("newAccount with a wrong EAB key: unauthorized", getattr(e, "typ", "").endswith("unauthorized"), str(e))

        # The account with the channel's EAB.
        eab = messages.ExternalAccountBinding.from_data(account_public_key=key.public_key(), kid=akid, hmac_key=eab_key, directory=directory)
        regr = c.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True, external_account_binding=eab))
        check("newAccount with EAB (kid = A-KID, key from K_AF)", str(regr.body.status) == "valid" and bool(regr.uri), str(regr.body.status))

        # A replayed nonce: badNonce.
        nonce = requests.head(directory["newNonce"], timeout=10).headers["Replay-Nonce"]
        body = acme_jws.JWS.sign(b"", key=key, alg=jose.ES256, nonce=jose.b64decode(nonce), url=regr.uri, kid=regr.uri).json_dumps().encode()
        hdr = {"Content-Type": "application/jose+json"}
        r1 = requests.post(regr.uri, data=body, headers=hdr, timeout=10)
        r2 = requests.post(regr.uri, data=body, headers=hdr, timeout=10)
        check("POST-as-GET of the account", r1.status_code == 200, r1.text)
        check("replayed nonce: badNonce with a fresh Replay-Nonce",
              r2.status_code == 400 and r2.json().get("type", "").endswith("badNonce") and "Replay-Nonce" in r2.headers
              and r2.headers.get("Content-Type") == "application/problem+json", r2.text)

        # dns + http-01, CSR by openssl req.
        name = f"dev{random.randint(0, 99999)}.{suffix}"
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "dev.key", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-out", "csr.pem")
        orderr = c.new_order(open("csr.pem", "rb").read())
        for authz in orderr.authorizations:
            for chall in authz.body.challenges:
                if isinstance(chall.chall, challenges.HTTP01):
                    response, validation = chall.response_and_validation(key)
                    open(f"{www}/{chall.chall.path.lstrip('/')}", "w").write(validation)
                    c.answer_challenge(chall, response)
        orderr = c.poll_and_finalize(orderr, deadline=__import__("datetime").datetime.now() + __import__("datetime").timedelta(seconds=30))
        pems = [p + "-----END CERTIFICATE-----\n" for p in orderr.fullchain_pem.split("-----END CERTIFICATE-----") if "BEGIN" in p]
        check("the chain holds leaf, issuing CA and root", len(pems) == 3, str(len(pems)))
        open("leaf.pem", "w").write(pems[0].lstrip())
        open("issuing.pem", "w").write(pems[1].lstrip())
        open("root.pem", "w").write(pems[2].lstrip())
        v = subprocess.run(["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem"], capture_output=True, text=True)
        check("openssl verify accepts the certificate", v.returncode == 0, v.stdout + v.stderr)
        san = run("openssl", "x509", "-in", "leaf.pem", "-noout", "-ext", "subjectAltName")
        check("the certificate carries the DNS name", f"DNS:{name}" in san, san)
        check("the certificate is for the key openssl made",
              run("openssl", "x509", "-in", "leaf.pem", "-noout", "-pubkey") == run("openssl", "pkey", "-in", "dev.key", "-pubout"))
        # A name under no configured suffix: rejectedIdentifier.
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "x.key", "-subj", "/CN=x.example.org", "-addext", "subjectAltName=DNS:x.example.org", "-out", "x.pem")
        try:
            c.new_order(open("x.pem", "rb").read())
            check("an order outside the DNS suffixes refused", False)
        except errors.Error as e:
            check("an order outside the DNS suffixes: rejectedIdentifier", getattr(e, "typ", "").endswith("rejectedIdentifier"), str(e))
        # Our UE agent: device-attest-01 with an EAT through the DCS, inside the channel.
        out = subprocess.run([snpn, "ue", "onboard", "--ue", "ue2.json", "--config", cfg_path, "--method", "acme"],
                             capture_output=True, text=True)
        check("snpn ue onboard --method acme: enrolled over ACME", out.returncode == 0 and "over ACME" in out.stdout, out.stdout + out.stderr)
        if out.returncode == 0:
            v = subprocess.run(["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "ue2.json.crt.pem"],
                               capture_output=True, text=True)
            check("openssl verify accepts the UE's ACME certificate", v.returncode == 0, v.stdout + v.stderr)
    finally:
        httpd.shutdown()
        tunnel.send_signal(signal.SIGTERM)
        tunnel.wait(timeout=5)
    print(f"\n{fails} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
