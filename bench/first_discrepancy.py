"""Time to the first discrepancy on implementations with one realistic bug each.

    python bench/first_discrepancy.py [--budget 60] [--targets a,b,...] [--json FILE]

Runs `rnnconf check --impl fuzz_targets.<target> --budget B --fail-fast` (oracle tf_keras, the
suite and the fuzzer, as a CI job would) for every planted single-bug target in tests/fuzz_targets/,
one after the other, and prints per target: exit status, time to the first discrepancy (from
results.json), which stage found it, and the wall time; then the median and the slowest. A target
the check calls conformant (exit 0) is a miss: the table says so.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "tests" / "fuzz_targets"
# Not single realistic bugs: crashes, hangs, memory behaviour and the multi-bug target.
NOT_PLANTED_BUGS = {"__init__", "_cells", "aborts", "aborts_when_traced", "bloats", "hangs", "leaks", "slow", "stalls_once", "swings",
                    "several_bugs", "float64_rounded_and_backwards", "float64_refused_under_mask",
                    "float64_refused_under_mask_and_masked_stacks", "two_raises"}


def planted_targets():
    return sorted(p.stem for p in TARGETS.glob("*.py") if p.stem not in NOT_PLANTED_BUGS)


def run_one(target, budget, out):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "rnnconf.cli", "check", "--impl", f"fuzz_targets.{target}", "--budget", str(budget),
           "--fail-fast", "--no-progress", "--seed", "1", "--out", str(out)]
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=budget * 3 + 120)
    wall = time.time() - start
    try:
        data = json.loads((out / "results.json").read_text())
    except (OSError, json.JSONDecodeError):
        data = {}
    suite_failed = bool((data.get("suite") or {}).get("failed_tests"))
    return {"target": target, "exit": proc.returncode, "wall_s": round(wall, 1),
            "first_s": data.get("time_to_first_discrepancy_s"),
            "found_by": "suite" if suite_failed else ("fuzzer" if data.get("discrepancies") else "-"),
            "stages": data.get("stages"), "last_line": (proc.stderr.strip().splitlines() or [""])[-1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--targets", default=None, help="comma-separated (default: every planted single bug)")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    targets = args.targets.split(",") if args.targets else planted_targets()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in targets:
            row = run_one(target, args.budget, Path(tmp) / target)
            rows.append(row)
            first = "-" if row["first_s"] is None else f"{row['first_s']:.1f}s"
            print(f"{target:32} exit {row['exit']}  first discrepancy {first:>7} ({row['found_by']:6})  "
                  f"wall {row['wall_s']:.1f}s", flush=True)
    found = [r["first_s"] for r in rows if r["exit"] == 1 and r["first_s"] is not None]
    missed = [r["target"] for r in rows if r["exit"] != 1]
    summary = {"targets": len(rows), "found": len(found), "missed": missed,
               "median_first_s": round(statistics.median(found), 1) if found else None,
               "slowest_first_s": round(max(found), 1) if found else None}
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
