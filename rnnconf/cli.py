"""The `rnnconf` command line (interfaces.md section 2): `check` chains the three stages.

  rnnconf check --impl NAME [--oracle NAME] [--budget SECONDS] [--max-examples N] [--seed N]
                [--workers N] [--fail-fast] [--xfail FILE] [--out DIR] [--shard K/N] [--skip-suite]
  rnnconf report RESULTS.json [RESULTS.json ...] --out DIR

check: (a) the conformance suite (pytest, in a subprocess, its per-clause counts merged in),
(b) the fuzzing campaign (fuzz/campaign.py), (c) results.json, repro/, junit.xml, report.html.
Exit status: 0 nothing beyond --xfail differs, 1 a discrepancy, 2 a usage or set-up error.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

USAGE, FOUND, OK = 2, 1, 0
KINDS = ("value", "shape", "dtype", "structure", "error", "crash", "timeout")
DEFAULT_BUDGET_S = 300.0


class UsageError(Exception):
    """One line for stderr; exit status 2."""


def _parser():
    from fuzz.campaign import VARIANTS
    parser = argparse.ArgumentParser(prog="rnnconf", description="Conformance suite and differential fuzzer "
                                     "for tf.keras.layers.RNN (Keras 2).")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run the suite and a fuzzing campaign of NAME against the oracle")
    check.add_argument("--impl", required=True, help="reference, tf_keras, keras3, a module path or module:attr")
    check.add_argument("--oracle", default="tf_keras")
    check.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                       help=f"wall time for the whole check (default {DEFAULT_BUDGET_S:g}s without --max-examples)")
    check.add_argument("--max-examples", type=int, default=None, metavar="N", help="fuzzed examples in all")
    check.add_argument("--seed", type=int, default=None, help="same seed, same examples (default: random, "
                       "or the seed of the campaign being resumed)")
    check.add_argument("--workers", type=int, default=None, metavar="N", help="parallel drivers (default: all cores)")
    check.add_argument("--fail-fast", action="store_true", help="stop at the first discrepancy (after shrinking)")
    check.add_argument("--xfail", metavar="FILE", help="clause IDs or discrepancy kinds accepted as known")
    check.add_argument("--out", metavar="DIR", help="default reports/<impl>-<timestamp>/; an existing DIR resumes")
    check.add_argument("--shard", default="1/1", metavar="K/N", help="run shard K of N (merge with `rnnconf report`)")
    check.add_argument("--skip-suite", action="store_true", help="fuzz only: skip the conformance suite stage")
    check.add_argument("--example-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="one example on one side longer than this is a `timeout` discrepancy")
    check.add_argument("--worker-memory", type=int, default=4096, metavar="MIB",
                       help="a worker whose resident memory passes this is killed: a `crash` discrepancy")
    check.add_argument("--shrink-budget", type=float, default=60.0, metavar="SECONDS",
                       help="time spent shrinking one discrepancy at most")
    check.add_argument("--variants", type=int, default=VARIANTS, metavar="K",
                       help=f"data variants (seed, weight scale, mask values) run per drawn configuration "
                            f"on the same built layers (default {VARIANTS})")
    check.add_argument("--no-progress", action="store_true", help="no progress bar (a summary line at the end)")
    report = sub.add_parser("report", help="re-render results.json files, merging shards")
    report.add_argument("results", nargs="+", metavar="RESULTS.json")
    report.add_argument("--out", required=True, metavar="DIR")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        # `kill` (SIGTERM) unwinds like Ctrl-C: the drivers are stopped, the logs stay resumable.
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(args)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(args):
    try:
        if args.command == "report":
            return _report_command(args)
        return check(args)
    except UsageError as e:
        print(f"rnnconf: {e}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("rnnconf: interrupted; re-run with the same --out to resume", file=sys.stderr)
        return 130


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _render():
    """reports.render, or None while it is not there (results.json is still written)."""
    try:
        from reports import render
    except ImportError:
        return None
    return render


def _report_command(args):
    render = _render()
    if render is None or not hasattr(render, "report_command"):
        raise UsageError("the report renderer (reports.render) is not available")
    return render.report_command(args.results, args.out)


# ---- option checking -------------------------------------------------------------------------------------
def parse_shard(text):
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard expects K/N with integers, e.g. 1/4; got {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard K/N needs 1 <= K <= N; got {text!r}")
    return k, n


def read_xfail(path):
    """Entries of an --xfail file: clause IDs or discrepancy kinds, one a line, # comments."""
    from conformance.clauses import ALL_IDS
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read --xfail file {path}: {e}") from None
    entries = [line.split("#", 1)[0].strip() for line in lines]
    entries = [e for e in entries if e]
    for entry in entries:
        if entry not in ALL_IDS and entry not in KINDS:
            print(f"rnnconf: warning: --xfail entry {entry!r} is neither a clause ID nor a discrepancy kind",
                  file=sys.stderr)
    return entries


def _validate(args):
    shard = parse_shard(args.shard)
    for name in ("budget", "max_examples", "workers", "example_timeout", "shrink_budget", "worker_memory",
                 "variants"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive; got {value}")
    xfail = read_xfail(args.xfail) if args.xfail else []
    return shard, xfail


def _probe(name, out):
    """Resolve NAME the way the workers will (in a worker process): versions, or a UsageError."""
    from fuzz.worker import Worker, WorkerSetupError
    worker = Worker(name, stderr_path=os.path.join(out, "workers.log"))
    try:
        worker.start()
    except WorkerSetupError as e:
        raise UsageError(str(e)) from None
    finally:
        worker.stop()
    return worker.versions


# ---- the stages -----------------------------------------------------------------------------------------
def run_suite(args, out, timeout_s):
    """(a) The conformance suite in a subprocess; its clause report, or None (with a warning)."""
    # Absolute: the suite runs in the folder that holds the conformance package, not the caller's.
    path = os.path.abspath(os.path.join(out, "conformance.json"))
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
           "--impl", args.impl, "--oracle", args.oracle, "--clause-report", path]
    if args.xfail:
        cmd += ["--xfail", os.path.abspath(args.xfail)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OPENBLAS_NUM_THREADS="1")
    env.pop("CI", None)  # the suite's own Hypothesis profiles, not the auto-loaded `ci` one
    _say(f"conformance suite: {' '.join(cmd[2:])}")
    try:
        with open(os.path.join(out, "conformance.log"), "w") as log:
            proc = subprocess.run(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _say(f"warning: the conformance suite did not finish within {timeout_s:.0f}s; its counts are missing")
        return None
    if proc.returncode == 2 and not os.path.exists(path):
        with open(os.path.join(out, "conformance.log")) as f:
            last = [line for line in f.read().splitlines() if line.strip()][-1:] or ["(no output)"]
        raise UsageError(f"the conformance suite could not start: {last[0]}")
    if not os.path.exists(path):
        _say(f"warning: the conformance suite wrote no clause report (exit {proc.returncode}); "
             f"see {os.path.join(out, 'conformance.log')}")
        return None
    with open(path) as f:
        report = json.load(f)
    report["exit"] = proc.returncode
    return report


def merge_suite(results, suite):
    """Add the suite's per-clause counts to a conformance.results.Results."""
    for cid, counts in suite.get("clauses", {}).items():
        failures, unsupported = counts.get("failures", 0), counts.get("unsupported", 0)
        for _ in range(failures):
            results.record([cid], ok=False)
        for _ in range(unsupported):
            results.record([cid], unsupported=True)
        for _ in range(max(0, counts.get("checks", 0) - failures - unsupported)):
            results.record([cid])


def _campaign_meta(out, args):
    """campaign.json: what a resumed run reuses (the seed) and checks (impl, oracle)."""
    path = os.path.join(out, "campaign.json")
    if os.path.exists(path):
        with open(path) as f:
            meta = json.load(f)
        if (meta["impl"], meta["oracle"]) != (args.impl, args.oracle):
            raise UsageError(f"{out} holds a campaign of {meta['impl']} against {meta['oracle']}; "
                             f"use another --out for {args.impl} against {args.oracle}")
        if args.seed is not None and args.seed != meta["seed"]:
            raise UsageError(f"{out} holds a campaign with --seed {meta['seed']}; resume it with that seed "
                             "or use another --out")
        meta["resumed"] = meta.get("resumed", 0) + 1
    else:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 31)
        meta = {"impl": args.impl, "oracle": args.oracle, "seed": seed, "started": time.time(),
                "elapsed_before_s": 0.0}
    with open(path, "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def _say(text):
    print(f"rnnconf: {text}", file=sys.stderr, flush=True)


def check(args):
    start = time.time()
    shard, xfail = _validate(args)
    budget = args.budget if args.budget is not None else (None if args.max_examples else DEFAULT_BUDGET_S)
    hard_end = start + budget if budget else float("inf")
    out = args.out or os.path.join("reports", f"{args.impl.replace(':', '_').replace('/', '_')}-"
                                   f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --out {out}: {e}") from None
    meta = _campaign_meta(out, args)
    versions = {**_probe(args.oracle, out), **_probe(args.impl, out)}

    from conformance.results import Results
    from fuzz import campaign, repro

    suite = None
    if not args.skip_suite:
        suite_time = max(30.0, 0.5 * (hard_end - time.time())) if budget else None
        suite = run_suite(args, out, suite_time)

    workers = args.workers or os.cpu_count() or 1
    reserve = min(15.0, 0.1 * budget) if budget else 0.0   # time left for the report stage
    deadline = hard_end - reserve
    specs = campaign.driver_specs(
        impl=args.impl, oracle=args.oracle, out=out, seed=meta["seed"], shard=shard, workers=workers,
        max_examples=args.max_examples, deadline=deadline, fail_fast=args.fail_fast, xfail=xfail,
        timeout_s=args.example_timeout, shrink_budget_s=args.shrink_budget, memory_mb=args.worker_memory,
        variants=args.variants)

    tail = campaign.LogTail(out)  # follows the logs; results.json is rebuilt from its tallies

    def results_now():
        results = Results(args.impl, args.oracle, seed=meta["seed"], versions=versions)
        if suite:
            merge_suite(results, suite)
        data = campaign.aggregate(out, results, xfail, since=meta.get("fuzz_started"), tail=tail)
        data["elapsed_s"] = round(meta["elapsed_before_s"] + time.time() - start, 3)
        data["shard"] = f"{shard[0]}/{shard[1]}"
        if suite:
            data["suite"] = {"exit": suite.get("exit"), "failed_tests": suite.get("failed_tests", [])}
        return data

    def write_results(data):
        tmp = os.path.join(out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, default=str)
        os.replace(tmp, os.path.join(out, "results.json"))  # never a half-written results.json

    progress = _Progress(enabled=not args.no_progress, total=args.max_examples, budget_end=deadline)
    last_write = [time.time()]

    def on_tick(_):
        progress.update(tail)
        if time.time() - last_write[0] > 5.0:
            write_results(results_now())
            last_write[0] = time.time()

    examples_before = tail.poll(xfail).examples
    meta.setdefault("fuzz_started", time.time())  # time_to_first_discrepancy counts from here
    progress.start(examples_before)
    try:
        campaign.run_drivers(specs, on_tick=on_tick, tail=tail)
    finally:
        progress.stop()
    if tail.setup_errors and tail.examples == examples_before:
        raise UsageError(tail.setup_errors[0])

    data = results_now()
    for item in data["discrepancies"]:
        repro.write(out, item, args.impl, args.oracle)
    write_results(data)
    meta["elapsed_before_s"] = data["elapsed_s"]
    with open(os.path.join(out, "campaign.json"), "w") as f:
        json.dump(meta, f, indent=1)
    _render_outputs(data, out)
    return _exit_status(data, suite, xfail, tail.examples - examples_before, time.time() - start)


def _render_outputs(data, out):
    render = _render()
    if render is None:
        _say("warning: reports.render is not available; wrote results.json only")
        return
    try:
        render.render_report(data, out)
        render.write_junit(data, os.path.join(out, "junit.xml"))
    except Exception as e:  # noqa: BLE001 - the data is safe in results.json; say what failed
        _say(f"warning: rendering the report failed: {type(e).__name__}: {e}")


def _exit_status(data, suite, xfail, examples, elapsed):
    unexpected = [d for d in data["discrepancies"] if not d.get("xfail")]
    suite_failed = sorted(cid for cid, c in ((suite or {}).get("clauses") or {}).items()
                          if c.get("failures") and cid not in xfail)
    matched = {e for e in xfail if any(e == d["kind"] or e in d["clauses"] for d in data["discrepancies"])}
    matched |= {e for e in xfail if ((suite or {}).get("clauses") or {}).get(e, {}).get("failures")}
    for entry in xfail:
        if entry not in matched:
            _say(f"warning: --xfail entry {entry!r} matched nothing in this run")
    tested = sum(1 for c in data["clauses"].values() if c["status"] != "untested")
    _say(f"{data['examples']} examples ({examples} this run, {examples / max(elapsed, 1e-9):.1f}/s overall), "
         f"{len(data['discrepancies'])} discrepancies ({len(unexpected)} unexpected), "
         f"{tested}/{len(data['clauses'])} clauses reached"
         + (f", suite failures in {', '.join(suite_failed)}" if suite_failed else ""))
    return FOUND if unexpected or suite_failed else OK


class _Progress:
    """Examples, examples/s and discrepancies on stderr (Rich), or nothing."""

    def __init__(self, enabled, total, budget_end):
        self.enabled, self.total, self.budget_end = enabled, total, budget_end
        self._progress = None

    def start(self, done):
        self.t0, self.done0 = time.time(), done
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        self._progress = Progress(TextColumn("fuzzing"), BarColumn(), TextColumn("{task.fields[line]}"),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("fuzz", total=self.total, completed=done, line="starting workers")

    def update(self, tail):
        if self._progress is None:
            return
        rate = (tail.examples - self.done0) / max(time.time() - self.t0, 1e-9)
        left = max(0.0, self.budget_end - time.time()) if self.budget_end != float("inf") else None
        line = (f"{tail.examples} examples, {rate:.1f}/s, {tail.discrepancies} discrepancies"
                + (f", {left:.0f}s left" if left is not None else ""))
        self._progress.update(self._task, completed=tail.examples, line=line)

    def stop(self):
        if self._progress is not None:
            self._progress.stop()


if __name__ == "__main__":
    sys.exit(main())
