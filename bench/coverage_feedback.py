"""Does feeding newly reached oracle code back to Hypothesis find planted bugs sooner?

    python bench/coverage_feedback.py [--budget 60] [--seeds 1,2] [--targets a,b,...] [--json FILE]
    python bench/coverage_feedback.py --cost 60 [--seeds 1,2]
    python bench/coverage_feedback.py --stream 30 [--rounds 3]

For each planted single-bug target (bench/first_discrepancy.py's list) and seed, runs the fuzzer alone,
`rnnconf check --impl fuzz_targets.<target> --skip-suite --fail-fast --workers 1 --budget B --seed S`,
twice at the same time: feedback off, and on (RNNCONF_COVERAGE_FEEDBACK=1). Side by side, both runs
see the same load on a shared machine. Per run: the seconds from the driver's workers being ready to
the first failing example, the examples up to it, and examples/s. `--cost S` instead runs S-second
campaigns against the reference (nothing to find) off and on, side by side; their streams differ
once Hypothesis sees a target. `--stream N` runs one stream of N drawn cases (x 64 variants, as
throughput.py draws it) through the oracle's worker alone, off and on, alternately in `--rounds`
rounds, a new worker each time: the counting's own cost on the same examples.

The feedback did not pay (docs/oracle-coverage.md, "Coverage as fuzzing feedback"), so rnnconf does not
have it: coverage_feedback.patch adds it (RNNCONF_COVERAGE_FEEDBACK=1, engine/coverage_feedback.py).
Run from a checkout without it, this bench exports HEAD to a temporary folder, applies the patch there
and runs itself in that copy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import time

from first_discrepancy import ROOT, planted_targets

FEEDBACK_ENV = "RNNCONF_COVERAGE_FEEDBACK"
# The switch is not part of rnnconf: this patch adds it, to a copy of the checkout made for the bench.
PATCH = Path(__file__).resolve().with_suffix(".patch")
PATCH_BASE = "5101b43"  # the commit the patch was made against


def start(impl, budget, seed, out, feedback, fail_fast=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    env[FEEDBACK_ENV] = "1" if feedback else "0"
    cmd = [sys.executable, "-m", "rnnconf.cli", "check", "--impl", impl, "--skip-suite", "--workers", "1",
           "--budget", str(budget), "--no-progress", "--seed", str(seed), "--out", str(out)]
    if fail_fast:
        cmd.append("--fail-fast")
    out.mkdir(parents=True, exist_ok=True)
    with open(out.parent / (out.name + ".stderr"), "w") as stderr:  # a pipe left unread would block the run
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def measure(out, code):
    """From a run's log: seconds from ready to the first failing example, examples up to it, rates."""
    ready = first = last = None
    examples = 0
    new_arcs = 0
    for log in sorted(out.glob("log-*.jsonl")):
        for line in log.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r["type"] == "ready" and ready is None:
                ready = r["t"]
            if r["type"] == "example":
                examples, last = r["n"], r["t"]
                new_arcs += r.get("new_oracle_arcs", 0)
                if first is None and r.get("kind") is not None:
                    first = (r["t"], r["n"])
    fuzz_s = (last - ready) if ready is not None and last is not None else None
    return {"exit": code, "found": first is not None,
            "first_s": round(first[0] - ready, 1) if first and ready is not None else None,
            "first_examples": first[1] if first else None, "examples": examples,
            "rate": round(examples / fuzz_s, 1) if fuzz_s else None, "new_arcs": new_arcs}


def pair(impl, budget, seed, tmp, fail_fast=True):
    runs = {}
    procs = {name: start(impl, budget, seed, tmp / f"{impl}-{seed}-{name}", name == "on", fail_fast)
             for name in ("off", "on")}
    for name, proc in procs.items():
        proc.wait(timeout=budget * 3 + 180)
        out = tmp / f"{impl}-{seed}-{name}"
        runs[name] = measure(out, proc.returncode)
        if not runs[name]["examples"]:
            lines = (out.parent / (out.name + ".stderr")).read_text().strip().splitlines()
            runs[name]["last_line"] = lines[-1] if lines else ""
            print(f"  {name}: {runs[name]['last_line']}", flush=True)
    return runs


def stream_cost(draws, rounds):
    """examples/s of one stream through the oracle's worker alone, off and on, per round."""
    sys.path.insert(0, str(ROOT))
    from throughput import _oracle_alone, draw_stream
    from rnnconf.adapters.worker import Worker
    from rnnconf.engine import coverage_feedback
    stream, _ = draw_stream(draws, 64, 0)
    cases = [c for drawn in stream for c in drawn]
    rows = []
    for r in range(rounds):
        row = {}
        for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
            worker = Worker("tf_keras", env={coverage_feedback.ORACLE_ENV: "1"} if name == "on" else {})
            worker.start()
            try:
                worker.run(cases[0], fresh=True)  # imports and first layer: not timed
                start = time.perf_counter()
                n = sum(1 for _ in _oracle_alone(cases, worker))
                row[name] = round(n / (time.perf_counter() - start), 1)
            finally:
                worker.stop()
        row["on/off"] = round(row["on"] / row["off"], 3)
        print(f"round {r + 1}: {len(cases)} examples, off {row['off']} ex/s, on {row['on']} ex/s, "
              f"on/off {row['on/off']}", flush=True)
        rows.append(row)
    return rows


def show(label, runs):
    def one(r):
        first = "-" if r["first_s"] is None else f"{r['first_s']:6.1f}s {r['first_examples']:6d} ex"
        return f"exit {r['exit']} {first:>17}  {r['examples']:6d} ex {r['rate'] or 0:6.1f}/s"
    print(f"{label:40} off: {one(runs['off'])} | on: {one(runs['on'])} (new arcs {runs['on']['new_arcs']})",
          flush=True)


def patched_tree(tmp):
    """Where this checkout lacks the switch: HEAD exported to `tmp` with PATCH applied, or None."""
    if (ROOT / "engine" / "coverage_feedback.py").exists():
        return None
    tree = Path(tmp) / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    applied = subprocess.run(["git", "apply", str(PATCH)], cwd=tree, capture_output=True, text=True)
    if applied.returncode:
        sys.exit(f"{PATCH.name} does not apply to HEAD ({applied.stderr.strip()}); check out {PATCH_BASE} "
                 f"and run this bench there")
    return tree


def main(argv=None):
    with tempfile.TemporaryDirectory() as tmp:
        tree = patched_tree(tmp)
        if tree is not None:  # run this bench in the patched copy
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
            script = tree / "bench" / Path(__file__).name
            return subprocess.run([sys.executable, str(script), *(sys.argv[1:] if argv is None else argv)],
                                  cwd=tree, env=env).returncode
    return measure_all(argv)


def measure_all(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--targets", default=None, help="comma-separated (default: every planted single bug)")
    parser.add_argument("--cost", type=float, default=None, metavar="S", help="reference campaigns of S seconds instead")
    parser.add_argument("--stream", type=int, default=None, metavar="N", help="the oracle alone on N drawn cases instead")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    if args.stream:
        rows = stream_cost(args.stream, args.rounds)
        ratios = [r["on/off"] for r in rows]
        print(json.dumps({"median_on_over_off": statistics.median(ratios), "range": [min(ratios), max(ratios)]}))
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows}, indent=1))
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.cost:
            for seed in seeds:
                runs = pair("reference", args.cost, seed, tmp, fail_fast=False)
                rows.append({"impl": "reference", "seed": seed, **runs})
                show(f"reference seed {seed}", runs)
        else:
            targets = args.targets.split(",") if args.targets else planted_targets()
            for seed in seeds:
                for target in targets:
                    runs = pair(f"fuzz_targets.{target}", args.budget, seed, tmp)
                    rows.append({"impl": target, "seed": seed, **runs})
                    show(f"{target} seed {seed}", runs)
    summary = {}
    for name in ("off", "on"):
        found = [r[name] for r in rows if r[name]["found"]]
        summary[name] = {"runs": len(rows), "found": len(found),
                         "median_first_s": statistics.median([f["first_s"] for f in found]) if found else None,
                         "median_first_examples": statistics.median([f["first_examples"] for f in found]) if found else None,
                         "median_rate": statistics.median([r[name]["rate"] for r in rows if r[name]["rate"]] or [0])}
    both = [r for r in rows if r["off"]["found"] and r["on"]["found"]]
    summary["both_found"] = len(both)
    summary["on_sooner"] = sum(r["on"]["first_examples"] < r["off"]["first_examples"] for r in both)
    summary["off_sooner"] = sum(r["on"]["first_examples"] > r["off"]["first_examples"] for r in both)
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
