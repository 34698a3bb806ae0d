"""`rnnconf check` as a pipeline of stages: set-up, the suite, the fuzzing campaign, the report.

    Check(args).run() -> exit status

set_up        DIR, campaign.json (seed; resumed runs), --xfail, --known and --baseline read
suite_stage   the conformance suite (rnnconf.suite), in this thread or beside the fuzzer on 4+ cores
fuzz_stage    the campaign's drivers (rnnconf.fuzz.campaign), results.json rewritten as it goes
report_stage  known issues and differences applied; results.json, repro/, diff.json, report.html and
              junit.xml; the exit status
The implementations are probed (a worker each) while the suite starts; --oracle-coverage measures every
process started from set-up on.
"""
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rnnconf.adapters import targets
from rnnconf.adapters.converters import onnx_runtimes
from rnnconf.adapters.worker import Worker, WorkerSetupError
from rnnconf.engine import known_differences, oracle_coverage
from rnnconf.engine.known_issues import (NO_LONGER_REPRODUCES, KnownIssuesError, apply_known_issues,
                                         plain_xfail_file, read_known_issues, read_xfail)
from rnnconf.engine.results import Results, is_xfailed, merge_versions
from rnnconf.engine.root_causes import root_causes
from rnnconf.fuzz import campaign, logs
from rnnconf.reports import diff, repro, tfjs_repro
from rnnconf.status import FOUND, OK, Incomplete, UsageError, say
from rnnconf.suite import run_suite

DEFAULT_BUDGET_S = 300.0
MIN_FUZZ_S = 10.0  # of a --budget, kept for the fuzzing stage when it runs after the suite
# Below this --budget the suite runs the first example of every test function (every clause is
# checked); from it on, every example. The whole suite takes 2-5 minutes on 2 cores.
FULL_SUITE_BUDGET_S = 300.0
RESULTS_EVERY_S = 5.0  # results.json is rewritten this often while the campaign runs


def check(args):
    """`rnnconf check`: the exit status."""
    return Check(args).run()


class Check:
    """One check's state, shared by its stages (each a method, run in this order by `run`)."""

    def __init__(self, args):
        self.args = args
        self.start = time.time()
        self.suite_report = None      # the suite's clause report, once it ran
        self.suite_error = None       # the suite's Incomplete or UsageError, raised after the campaign
        self.stage_seconds = {}
        self.progress_samples = []    # [elapsed s, examples, clauses reached, distinct discrepancies]
        self._versions = {}
        self._probes = None

    def run(self):
        self.set_up()
        if getattr(self.args, "oracle_coverage", False):
            if oracle_coverage.unavailable():
                raise UsageError(oracle_coverage.unavailable())
            with oracle_coverage.measuring(self.out, self.args.oracle):  # every process started from here on
                return self.run_stages()
        return self.run_stages()

    def run_stages(self):
        with ThreadPoolExecutor(2, thread_name_prefix="rnnconf-probe") as pool:
            # Each probe starts a worker (a framework import, seconds): both run while the suite starts.
            self._probes = [pool.submit(_probe, name, self.out) for name in (self.args.oracle, self.args.impl)]
            suite_thread = self.start_suite()
            self.versions()  # an implementation that cannot be set up ends the run here, before fuzzing
            self.fuzz_stage()
            if suite_thread is not None:
                suite_thread.join()
                if self.suite_error is not None:
                    raise self.suite_error
            return self.report_stage()

    # ---- set-up ----------------------------------------------------------------------------------------
    def set_up(self):
        args = self.args
        self.shard, self.xfail = _validate(args)
        self.baseline = read_baseline(args.baseline) if args.baseline else None
        _target_of(args)
        args.known_path, self.differences = read_known_differences(args)
        self.budget = args.budget if args.budget is not None else (None if args.max_examples else DEFAULT_BUDGET_S)
        hard_end = self.start + self.budget if self.budget else float("inf")
        self.out = args.out or os.path.join("reports", f"{args.impl_name.replace(':', '_').replace('/', '_')}-"
                                            f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}")
        try:
            os.makedirs(self.out, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create --out {self.out}: {e}") from None
        self.known = read_known_issues(args.xfail, warn=False) if args.xfail else []  # _validate warned
        if args.xfail:
            args.xfail = plain_xfail_file(self.out, self.xfail)
        self.meta = _campaign_meta(self.out, args)
        cores = os.cpu_count() or 1
        workers = args.workers or cores
        reserve = min(15.0, 0.1 * self.budget) if self.budget else 0.0   # time left for the report stage
        self.deadline = hard_end - reserve
        # Side by side where there are cores for both (each stage gets half); on fewer cores the
        # suite first, on all of them: it judges every clause within seconds of its start.
        self.side_by_side = not args.skip_suite and cores >= 4 and workers >= 2
        self.suite_workers = max(1, workers // 2) if self.side_by_side else workers
        self.fuzz_workers = workers - self.suite_workers if self.side_by_side else workers
        self.tail = logs.LogTail(self.out)  # follows the logs; results.json is rebuilt from its tallies

    def versions(self):
        """Both implementations' versions, once their probes are done (a probe's UsageError is raised here)."""
        if not self._versions:
            oracle, impl = (probe.result() for probe in self._probes)
            self._versions.update(merge_versions(oracle, impl, self.args.impl))
        return self._versions

    # ---- the suite -------------------------------------------------------------------------------------
    def start_suite(self):
        """Runs the suite now, or starts it beside the fuzzer (its thread, to join)."""
        if self.args.skip_suite:
            return None
        if self.side_by_side:
            thread = threading.Thread(target=self.suite_stage, name="rnnconf-suite", daemon=True)
            thread.start()
            return thread
        self.suite_stage()
        if self.suite_error is not None:
            raise self.suite_error
        return None

    def suite_stage(self):
        args, t0 = self.args, time.time()
        limit = (self.deadline - t0 - (0 if self.side_by_side else MIN_FUZZ_S)) if self.budget else float("inf")
        try:
            quick = args.suite == "quick" or (args.suite == "auto" and self.budget is not None
                                              and self.budget < FULL_SUITE_BUDGET_S)
            self.suite_report = run_suite(args, self.out, max(limit, 1.0), workers=self.suite_workers, quick=quick)
        except (Incomplete, UsageError) as e:
            self.suite_error = e
        self.stage_seconds["suite"] = round(time.time() - t0, 3)
        report = self.suite_report
        if report is not None:
            failed = len(report.get("failed_tests", []))
            say(f"stage suite ({report['mode']}): {self.stage_seconds['suite']:.1f}s, {report['tests']} tests, "
                f"{failed} failed")

    def suite_failed(self):
        report = self.suite_report
        return bool(report) and any(c.get("failures") and cid not in self.xfail
                                    for cid, c in report.get("clauses", {}).items())

    # ---- the campaign ----------------------------------------------------------------------------------
    def fuzz_stage(self):
        args, tail = self.args, self.tail
        specs = campaign.driver_specs(
            impl=args.impl, oracle=args.oracle, out=self.out, seed=self.meta["seed"], shard=self.shard,
            workers=self.fuzz_workers, max_examples=args.max_examples, deadline=self.deadline,
            fail_fast=args.fail_fast, xfail=self.xfail, timeout_s=args.example_timeout,
            shrink_budget_s=args.shrink_budget, memory_mb=args.worker_memory, variants=args.variants,
            fixed_weights=targets.fixed_weights(args.impl),
            known=os.path.abspath(args.known_path) if args.known_path else None)
        self.examples_before = tail.poll(self.xfail).examples
        self.sample(self.results_now())  # coverage after the suite (when it ran first)
        if args.fail_fast and self.suite_failed():
            say("stage fuzz: skipped, --fail-fast and the suite failed")
            return
        progress = _Progress(enabled=not args.no_progress, total=args.max_examples, budget_end=self.deadline)
        last_write = time.time()

        def on_tick(_):
            nonlocal last_write
            progress.update(tail)
            if time.time() - last_write > RESULTS_EVERY_S:
                data = self.results_now()
                self.sample(data)
                self.write_results(data)
                last_write = time.time()

        t0 = time.time()
        progress.start(self.examples_before)
        try:
            campaign.run_drivers(specs, on_tick=on_tick, tail=tail,
                                 stop=(lambda: args.fail_fast and self.suite_failed()) if self.side_by_side else None)
        finally:
            progress.stop()
        self.stage_seconds["fuzz"] = round(time.time() - t0, 3)
        if tail.setup_errors and tail.examples == self.examples_before:
            raise UsageError(tail.setup_errors[0])
        ran = tail.examples - self.examples_before
        say(f"stage fuzz: {self.stage_seconds['fuzz']:.1f}s, {ran} examples with {self.fuzz_workers} worker(s)")
        stopped_early = args.fail_fast and (tail.failing or self.suite_failed())
        if tail.driver_failures:
            raise Incomplete(f"the fuzzing stage did not complete: {tail.driver_failures[0]}")
        if ran == 0 and not stopped_early and args.max_examples != 0:
            raise Incomplete("the fuzzing stage ran no example: give --budget more time")

    # ---- results and the report ------------------------------------------------------------------------
    def results_now(self):
        """results.json's dict from what the suite and the logs hold now."""
        args, suite = self.args, self.suite_report
        results = Results(args.impl, args.oracle, seed=self.meta["seed"], versions=self.versions())
        if suite:
            results.merge_suite(suite)
        data = logs.aggregate(self.out, results, self.xfail, since=self.start, tail=self.tail)
        firsts = [t for t in (data["time_to_first_discrepancy_s"],
                              suite and suite.get("first_failure_t") and suite["first_failure_t"] - self.start)
                  if t is not None]
        data["time_to_first_discrepancy_s"] = round(min(firsts), 3) if firsts else None
        data["elapsed_s"] = round(self.meta["elapsed_before_s"] + time.time() - self.start, 3)
        data["shard"] = f"{self.shard[0]}/{self.shard[1]}"
        data["stages"] = dict(self.stage_seconds)
        data["progress"] = list(self.progress_samples)
        if suite:
            data["suite"] = {"exit": suite.get("exit"), "tests": suite.get("tests"), "mode": suite.get("mode"),
                             "failed_tests": suite.get("failed_tests", [])}
        data["root_causes"] = root_causes(data, self.xfail)
        return data

    def sample(self, data):
        """Coverage growth: one progress sample of `data`."""
        reached = sum(1 for c in data["clauses"].values() if c["status"] != "untested")
        self.progress_samples.append([round(time.time() - self.start, 1), data["examples"], reached,
                                      len(data["discrepancies"])])

    def write_results(self, data):
        tmp = os.path.join(self.out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, default=str)
        os.replace(tmp, os.path.join(self.out, "results.json"))  # never a half-written results.json

    def report_stage(self):
        args, out, t0 = self.args, self.out, time.time()
        self.sample(self.results_now())
        data = self.results_now()
        if self.known:
            apply_known_issues(data, self.known, self.suite_report)
        if self.differences:
            rows = known_differences.annotate(data, self.differences)
            matched = [r for r in rows if r["status"] == "matched"]
            say(f"known differences: {len(matched)} of {len(rows)} entries account for failing checks, which are "
                f"differs-by-design" + "".join(f"\n  {r['note']} ({r['url']}): {len(r['suite_tests'])} suite tests, "
                                              f"{r['examples']} fuzzed examples" for r in matched))
        if self.known or self.differences:
            data["root_causes"] = root_causes(data, self.xfail)  # with what the known issues and differences account for
        if getattr(args, "oracle_coverage", False):
            data["oracle_coverage"] = oracle_coverage.summarize(oracle_coverage.data_dir_of(out))
        self.write_reproducers(data)
        self.write_results(data)
        self.meta["elapsed_before_s"] = data["elapsed_s"]
        with open(os.path.join(out, "campaign.json"), "w") as f:
            json.dump(self.meta, f, indent=1)
        changes = _write_diff(self.baseline, data, out, self.xfail) if self.baseline is not None else None
        _render_outputs(data, out, changes)
        say(f"stage report: {time.time() - t0:.1f}s")
        return _exit_status(data, self.suite_report, self.xfail, self.tail.examples - self.examples_before,
                            time.time() - self.start, changes=changes)

    def write_reproducers(self, data):
        """DIR/repro/: one per fuzzed discrepancy, and one per suite root cause that has a case."""
        args, out = self.args, self.out
        for item in data["discrepancies"]:
            if args.impl == "tfjs":  # standalone JavaScript, fit for a tfjs issue
                tfjs_repro.write(out, item, args.oracle, versions=data["versions"])
            else:
                repro.write(out, item, args.impl, args.oracle, versions=data["versions"])
        for cause in data["root_causes"]:
            if cause["source"] == "suite" and cause.get("repro"):
                if args.impl == "tfjs":
                    cause["repro"] = None  # its reproducers are JavaScript, written from fuzzed discrepancies
                    continue
                try:
                    repro.write(out, repro.suite_item(cause), args.impl, args.oracle, versions=data["versions"])
                except Exception as e:  # noqa: BLE001 - the failed tests themselves stay in the report
                    say(f"warning: no reproducer for root cause {cause['id']}: {type(e).__name__}: {e}")
                    cause["repro"], cause["no_repro"] = None, f"writing it failed ({type(e).__name__}: {e})"[:300]
        onnx_runtimes.attribute(out, data, args.impl, log=sys.stderr)  # one converted model, three runtimes


# ---- option checking and set-up --------------------------------------------------------------------
def parse_shard(text):
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard expects K/N with integers, e.g. 1/4; got {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard K/N needs 1 <= K <= N; got {text!r}")
    return k, n


def _validate(args):
    shard = parse_shard(args.shard)
    for name in ("budget", "max_examples", "workers", "example_timeout", "shrink_budget", "worker_memory",
                 "variants"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive; got {value}")
    try:
        xfail = read_xfail(args.xfail) if args.xfail else []
    except KnownIssuesError as e:
        raise UsageError(str(e)) from None
    return shard, xfail


def read_baseline(path):
    """The --baseline results dict, or a UsageError before any work is done."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"cannot read --baseline {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read --baseline {path}: not a results.json object")
    return data


def _probe(name, out):
    """Resolve NAME the way the workers will (in a worker process): versions, or a UsageError."""
    worker = Worker(name, stderr_path=os.path.join(out, "workers.log"))
    try:
        worker.start()
    except WorkerSetupError as e:
        raise UsageError(str(e)) from None
    finally:
        worker.stop()
    return worker.versions


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


def _target_of(args):
    """Sets up a target's environment (first use: with pip's progress) or checks --impl-python; from
    then on args.impl names the implementation as every stage resolves it (`IMPL@PYTHON` for
    --impl-python: adapters/namespaces.py), args.impl_name as the user typed it."""
    args.impl_name = args.impl
    python = getattr(args, "impl_python", None)
    if python:
        if targets.split_remote(args.impl) or args.impl in targets.TARGETS:
            raise UsageError(f"--impl-python runs a module with your interpreter; --impl {args.impl} already "
                             "names its environment")
        args.impl = f"{args.impl}@{os.path.abspath(python)}"
    try:
        targets.remote_spec(args.impl)
    except targets.TargetError as e:
        raise UsageError(str(e)) from None


def read_known_differences(args):
    """(path, entries) of the known differences `check` judges with: --known FILE, else the file
    shipped for the target (rnnconf.engine.known_differences.target_file); (None, []) for `--known none`."""
    path = args.known if args.known else known_differences.target_file(args.impl_name)
    if not path or path == "none":
        return None, []
    try:
        entries = known_differences.read(path)
    except known_differences.KnownDifferencesError as e:
        raise UsageError(f"--known: {e}") from None
    say(f"known differences: {path} ({len(entries)} entries)")
    return path, entries


# ---- the report stage's outputs ---------------------------------------------------------------------
def renderer():
    """rnnconf.reports.render, or None where it cannot be imported (results.json is still written)."""
    try:
        from rnnconf.reports import render
    except ImportError:
        return None
    return render


def _write_diff(baseline, data, out, xfail):
    """DIR/diff.json and its summary on stderr; the diff with its "gating" part (what fails CI)."""
    changes = diff.diff(baseline, data)
    changes["gating"] = diff.gating(changes, accepted=lambda item: _accepted(item, xfail))
    with open(os.path.join(out, "diff.json"), "w") as f:
        json.dump(changes, f, indent=2, default=str)
    print(diff.summary(changes, changes["gating"]), file=sys.stderr)
    return changes


def _accepted(item, xfail):
    """Whether an --xfail entry accepts a diff item (a clause ID, a discrepancy or a suite test row)."""
    if isinstance(item, str):
        return item in xfail
    if "kind" in item:
        return is_xfailed(item, xfail)
    return bool(item["clauses"]) and all(c in xfail for c in item["clauses"])


def _render_outputs(data, out, changes=None):
    render = renderer()
    if render is None:
        say("warning: reports.render is not available; wrote results.json only")
        return
    try:
        render.render_report(data, out, changes=changes)
        render.write_junit(data, os.path.join(out, "junit.xml"))
    except Exception as e:  # noqa: BLE001 - the data is safe in results.json; say what failed
        say(f"warning: rendering the report failed: {type(e).__name__}: {e}")


def _exit_status(data, suite, xfail, examples, elapsed, changes=None):
    unexpected = [d for d in data["discrepancies"] if not d.get("xfail")]
    suite_failed = sorted(cid for cid, c in ((suite or {}).get("clauses") or {}).items()
                          if c.get("failures") and cid not in xfail)
    if "known_issues" in data:
        for row in data["known_issues"]:
            if row["status"] == NO_LONGER_REPRODUCES:
                say(f"warning: --xfail entry {row['entry']!r} matched nothing in this run: {NO_LONGER_REPRODUCES}")
    else:
        matched = {e for e in xfail if any(e == d["kind"] or e in d["clauses"] for d in data["discrepancies"])}
        matched |= {e for e in xfail if ((suite or {}).get("clauses") or {}).get(e, {}).get("failures")}
        for entry in xfail:
            if entry not in matched:
                say(f"warning: --xfail entry {entry!r} matched nothing in this run")
    tested = sum(1 for c in data["clauses"].values() if c["status"] != "untested")
    conversions = (f"{data['conversions']} models converted ({data['conversions'] / max(elapsed, 1e-9):.2f}/s), "
                   if data.get("conversions") else "")
    causes = data.get("root_causes") or []
    say(f"{data['examples']} examples ({examples} this run, {examples / max(elapsed, 1e-9):.1f}/s overall), "
         f"{conversions}{len(causes)} root causes ({sum(1 for c in causes if not c.get('xfail'))} unexpected; "
         f"{len(data['discrepancies'])} discrepancies, {len(unexpected)} unexpected), "
         f"{tested}/{len(data['clauses'])} clauses reached"
         + (f", suite failures in {', '.join(suite_failed)}" if suite_failed else ""))
    if changes is not None:  # with a baseline, only what is new fails the run
        return FOUND if diff.count(changes["gating"]) else OK
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
