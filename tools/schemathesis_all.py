#!/usr/bin/env python3
"""Runs schemathesis against the OpenAPI document of every network function of a running
`snpn up` deployment, with the bearer token each operation needs (read from the
deployment's config.toml).

Usage: tools/schemathesis_all.py CONFIG.toml [--max-examples N] [--st PATH]

Checks: all of schemathesis's checks except `positive_data_acceptance`: the services
validate deliberately more than the 3GPP schemas express (a SUPI's structure, a SUCI that
must deconceal, an RFC 3339 date that must parse), and answer such input with 400 and a
cause, which that check counts as a failure. `not_a_server_error` is replaced by the
`no_server_error` hook of tools/st_hooks.py, which allows only the 501
UNSUPPORTED_PROTECTION_SCHEME that TS 29.503/29.509 prescribe. Everything else — declared
status codes, content types, headers and response schemas, rejection of schema-invalid
data — must pass."""
import argparse
import json
import os
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("config")
ap.add_argument("--max-examples", type=int, default=40)
ap.add_argument("--st", default="st")
args = ap.parse_args()

with open(args.config, "rb") as f:
    cfg = tomllib.load(f)


def url(nf):
    return "http://" + cfg[nf]["sbi"]["listen"]


def token(nf, role):
    for c in cfg[nf]["clients"]:
        if role in c["roles"]:
            return c["token"]
    sys.exit(f"no {role} client in [{nf}]")


tools = cfg["tools"]
form = urllib.parse.urlencode({
    "grant_type": "client_credentials",
    "client_id": tools["external_af_client_id"],
    "client_secret": tools["external_af_client_secret"],
}).encode()
with urllib.request.urlopen(urllib.request.Request(url("nef") + "/oauth2/token", data=form)) as r:
    nef_access = json.load(r)["access_token"]

# (function, path regex, bearer token or None)
runs = [
    ("amf", "^/n1/", None),
    ("ausf", "^/nausf-auth/", token("ausf", "amf")),
    ("udm", "^/nudm-ueau/", token("udm", "ausf")),
    ("udm", "^/nudr-dr/", token("udm", "provisioning")),
    ("dcs", "^/nudm-ueau/", token("dcs", "ausf")),
    ("dcs", "^/dcs-admin/", token("dcs", "admin")),
    ("dcs", "^/challenge-response/", token("dcs", "relying-party")),
    ("dcs", "^/\\.well-known/", None),
    ("aanf", "^/naanf-akma/v1/(register-anchorkey|remove-context)", token("aanf", "ausf")),
    ("aanf", "^/naanf-akma/v1/retrieve-applicationkey", token("aanf", "af")),
    ("nef", "^/oauth2/", None),
    ("nef", "^/3gpp-akma/", nef_access),
    ("nef", "^/3gpp-credential-provisioning/", nef_access),
    ("pvs", "^/pvs-admin/", token("pvs", "admin")),
    ("pvs", "^/pvs/v1/", None),
]

failed = []
for nf, path, tok in runs:
    cmd = [
        args.st, "run", url(nf) + "/openapi.json",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance,not_a_server_error",
        "--include-path-regex", path,
        "--max-examples", str(args.max_examples),
        "--seed", "1",
        "--no-color",
    ]
    if tok:
        cmd += ["-H", f"Authorization: Bearer {tok}"]
    print(f"=== schemathesis: {nf} {path}", flush=True)
    env = dict(os.environ, SCHEMATHESIS_HOOKS="st_hooks",
               PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    summary = [l for l in r.stdout.splitlines() if "generated" in l or "failures" in l.lower() or "passed" in l]
    print("\n".join(summary[-3:]) or r.stdout[-2000:], flush=True)
    if r.returncode != 0:
        print(r.stdout[-6000:])
        failed.append(f"{nf} {path}")

if failed:
    sys.exit("schemathesis found failures in: " + ", ".join(failed))
print("schemathesis: no failures")
