#!/usr/bin/env python3
"""Summarise criterion results of `cargo bench -p snpn-crypto`: ops/s per benchmark and the
ratio of each to the reference operations (one AES-128 block, one HMAC-SHA-256) measured in
the same run. Usage: tools/bench_report.py [target/criterion]"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = {}
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    ns = json.loads(est.read_text())["mean"]["point_estimate"]
    rows[bench["full_id"]] = ns
if not rows:
    sys.exit(f"no criterion results under {root}")
aes = rows.get("reference/aes128_block")
hmac = rows.get("reference/hmac_sha256")
print(f"{'benchmark':<34} {'time':>11} {'ops/s':>13} {'x AES block':>12} {'x HMAC':>8}")
for name, ns in rows.items():
    ratio_aes = f"{ns / aes:12.1f}" if aes else ""
    ratio_hmac = f"{ns / hmac:8.1f}" if hmac else ""
    t = f"{ns / 1000:.2f} us" if ns >= 1000 else f"{ns:.1f} ns"
    print(f"{name:<34} {t:>11} {1e9 / ns:>13,.0f} {ratio_aes} {ratio_hmac}")
