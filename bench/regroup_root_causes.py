"""Re-decide the root causes of a check's results.json with this checkout's rules.

    python bench/regroup_root_causes.py RESULTS.json --impl IMPL [--oracle tf_keras] [--out DIR]

Each fuzzer discrepancy of RESULTS.json, in the order found, is compared with those before it by
the driver's own decision (fuzz.driver.Driver._same_cause: it runs cases on fresh layers of both
sides, as a campaign does when it records a discrepancy); the suite's failed tests are grouped by
conformance.results.root_causes. Prints the root causes before (as recorded) and after, and writes
DIR/regrouped.json. A sample's grouping can so be compared across rule changes without fuzzing
again (its discrepancies and failed tests stay the same).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.results import root_causes  # noqa: E402
from fuzz import campaign, driver  # noqa: E402


def summary(data):
    """One line per root cause: id, source, kind, its discrepancies or tests."""
    lines = []
    for cause in data["root_causes"]:
        what = cause.get("discrepancies") or [t.split("::")[-1] for t in cause.get("tests") or []]
        repro = cause.get("repro") or f"no reproducer: {(cause.get('no_repro') or '')[:60]}"
        lines.append(f"{cause['id']} {cause['source']:5} {cause['kind']:9} {', '.join(what)[:90]} ({repro})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--impl", required=True)
    parser.add_argument("--oracle", default="tf_keras")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    data = json.loads(Path(args.results).read_text())
    before = summary(data) if data.get("root_causes") else []
    out = args.out or tempfile.mkdtemp(prefix="regroup-")
    os.makedirs(out, exist_ok=True)
    (spec,) = campaign.driver_specs(impl=args.impl, oracle=args.oracle, out=out, seed=data.get("seed") or 1,
                                    shard=(1, 1), workers=1, max_examples=None, deadline=time.time() + 3600,
                                    fail_fast=False, xfail=(), timeout_s=120)
    loop = driver.Driver(spec)
    loop.oracle.start()
    loop.impl.start()
    ids = {d["signature"]: d["id"] for d in data["discrepancies"] if d.get("signature")}
    try:
        for d in data["discrepancies"]:
            if not d.get("fingerprint"):
                continue
            same = loop._same_cause(d["fingerprint"], d["config"])
            d["same_cause_as"] = sorted(same)
            loop.write({"type": "discrepancy", "signature": d["signature"], "fingerprint": d["fingerprint"],
                        "config": d["config"]})
            loop._log.flush()
            loop.known = loop.known_reader.refresh()
            print(f"{d['id']}: the same cause as {[ids[s] for s in same] or 'none before it'}", flush=True)
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    data["root_causes"] = root_causes(data)
    Path(out, "regrouped.json").write_text(json.dumps(data, indent=1, default=str))
    print(f"\nbefore: {len(before)} root causes", *before, sep="\n")
    print(f"\nafter: {len(data['root_causes'])} root causes", *summary(data), sep="\n")


if __name__ == "__main__":
    main()
