"""The fuzzing campaign: Hypothesis rounds in driver processes, an append-only log, results.json.

Layout of a campaign directory DIR:
  campaign.json        seed, impl, oracle, first start: what a resumed run must agree with
  log-K-N-wW.jsonl     one append-only log per driver (shard K of N, driver W): examples,
                       discrepancies (already shrunk), occurrences of known ones, rounds; a
                       passing variant after a drawn case's first is logged by reference
                       (example_cases rebuilds it)
  hypothesis/          Hypothesis's example database: failures found once are replayed first
  results.json, repro/ derived from the logs by `aggregate` (rewritten while the run goes on)

A driver runs Hypothesis "rounds": a @given test over strategies.cases() (or, one round in four,
the stateful machine) whose body runs one example through two Workers and differential.check. The
body raises only for a discrepancy that no known one explains, so Hypothesis shrinks exactly the
new ones; the round then ends, the shrunk case is logged, and the next round (a new seed derived
from --seed, the shard, the driver and the round number) goes on exploring. A killed run loses
at most the line being written; a re-run with the same DIR reads the logs back and resumes.
"""
import contextlib
import glob
import hashlib
import json
import os
import signal
import time
from collections import Counter

from hypothesis import given, seed as hypothesis_seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance import judge as judgement
from conformance.cases import is_stochastic, normalize
from conformance.results import MarginTally

from . import differential, machine, strategies
from .worker import Worker, WorkerSetupError

STATEFUL_EVERY = 4          # every 4th round drives the stateful machine
CASES_PER_ROUND = 50
MACHINES_PER_ROUND = 8
SHRINK_BUDGET_S = 60.0      # per discrepancy, and never past the campaign's deadline
SHRINK_MAX_RUNS = 400
VARIANTS = 64               # data variants per drawn case, on the same built layers (see Driver.examine)
# Variants of a drawn case that the oracle cannot trace (tf_keras: stateful stacks given initial_state)
# run eagerly at 15-70 ms each; a few of them cover the data, 64 would cost the campaign a quarter of its time.
UNTRACEABLE_VARIANTS = 8
# Variants of a drawn case with dropout while training: each is judged on dropout.SAMPLES samples a side.
STOCHASTIC_VARIANTS = 2


class StopRound(BaseException):
    """Out of time or examples: a BaseException, so Hypothesis neither shrinks nor retries it."""


class Discrepancy(Exception):
    def __init__(self, verdict):
        super().__init__(verdict["detail"])
        self.verdict = verdict


# One exception class per kind: Hypothesis tells failures apart by class, and must not trade a
# value discrepancy for an error one while shrinking.
DISCREPANCY_KINDS = {k: type(f"{k.title()}Discrepancy", (Discrepancy,), {}) for k in differential.KIND_ORDER}


def round_seed(seed, shard, driver, round_number):
    text = f"{seed}/{shard[0]}/{shard[1]}/{driver[0]}/{driver[1]}/{round_number}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def is_xfailed(item, xfail):
    return bool(xfail) and (item["kind"] in xfail or bool(set(item["clauses"]) & set(xfail)))


def read_log(path):
    """The records of one log; a torn last line (killed mid-write) is skipped."""
    records = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return records


def example_record(v, n, variant_index, drawn_example):
    """The log record of verdict `v`, the campaign's `n`th example and variant `variant_index` of the
    drawn case logged as example `drawn_example`. A passing variant after the first is logged by
    reference (see example_cases); a failing one keeps its whole case: results count failures per case."""
    what = ({"case": v["case"]} if variant_index == 0 or not (v["ok"] or v["unsupported"])
            else {"variant": variant_index, "of": drawn_example})
    record = {"type": "example", "n": n, **what, "clauses": v["clauses"], "ok": v["ok"],
              "unsupported": v["unsupported"], "kind": v["kind"], "side": v["side"],
              "seconds": {k: round(t, 6) for k, t in v["seconds"].items() if t is not None}}
    if v.get("inconclusive"):
        record["inconclusive"] = True
    if v["ok"] and v.get("margin"):
        record["margin"] = {dt: float(f"{r:.3g}") for dt, r in v["margin"].items()}
    if v["kind"] is not None:
        record["fingerprint"] = v["fingerprint"]
    return record


def example_cases(records):
    """The case of each example record, in order. A passing variant after a drawn case's first is
    logged by reference ("variant" i "of" example n; ~1 KB less per example, most of a log): it is
    rebuilt here by differential.variant, as the campaign made it."""
    drawn = {}
    for r in records:
        if r["type"] != "example":
            continue
        if "case" in r:
            drawn[r["n"]] = r["case"]
            yield r["case"]
        else:
            yield differential.variant(drawn[r["of"]], r["variant"])


def _ends_with_newline(path):
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def log_paths(out):
    return sorted(glob.glob(os.path.join(out, "log-*.jsonl")))


def make_case_test(examine):
    # The function's source names Hypothesis's database key: keep it stable so replays find it.
    @given(case=strategies.cases())
    def fuzz_cases(case):
        examine(case)
    return fuzz_cases


class RoundDatabase(ExampleDatabase):
    """The campaign's example database (DirectoryBasedExampleDatabase in DIR/hypothesis/<driver>),
    remembering what the current round saved so that `forget_round()` can take it back.

    Hypothesis trusts an exact failing replay from the database as already shrunk. So only a
    round whose shrink completed may leave its examples there; a round that stopped mid-shrink
    (budget, or merged into a known discrepancy) must not leave a half-shrunk case to be replayed
    as a finished one."""

    def __init__(self, path):
        super().__init__()
        self.inner = DirectoryBasedExampleDatabase(path)
        self.saved = []

    def save(self, key, value):
        self.saved.append((key, value))
        self.inner.save(key, value)

    def fetch(self, key):
        return self.inner.fetch(key)

    def delete(self, key, value):
        self.inner.delete(key, value)

    def move(self, src, dest, value):
        self.saved.append((dest, value))
        self.inner.move(src, dest, value)

    def start_round(self):
        self.saved = []

    def forget_round(self):
        for key, value in self.saved:
            self.inner.delete(key, value)
        self.saved = []


class Driver:
    """One sequential campaign loop with its own oracle and implementation workers."""

    def __init__(self, spec):
        self.spec = spec
        self.parent_pid = os.getppid()
        self.log_path = spec["log"]
        previous = read_log(self.log_path)
        self.examples = sum(1 for r in previous if r["type"] == "example")
        self.round = max([r["round"] for r in previous if r["type"] == "round"] or [0])
        self.found = self.round_errors = 0
        self.drawn_example = None  # the example number of the current drawn case's first variant
        self.target = self.best = None  # the fingerprint being shrunk, and its smallest case so far
        # One database per driver: another driver's half-shrunk case must not be replayed here.
        k, n = spec["shard"]
        self.db = RoundDatabase(os.path.join(spec["out"], "hypothesis", f"{k}-{n}-w{spec['driver'][0]}"))
        self.known_reader = KnownDiscrepancies(spec["out"])
        self._log = open(self.log_path, "a", buffering=1)
        if self._log.tell() and not _ends_with_newline(self.log_path):
            self._log.write("\n")  # a killed run's torn last line stays a line of its own
        stderr_path = os.path.join(spec["out"], "workers.log")
        self.oracle = Worker(spec["oracle"], spec["timeout_s"], spec["memory_mb"], stderr_path)
        self.impl = Worker(spec["impl"], spec["timeout_s"], spec["memory_mb"], stderr_path, retry_eager_reuse=False)

    def write(self, record):
        record["t"] = time.time()
        self._log.write(json.dumps(record, default=str) + "\n")

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self):
        try:
            for worker in (self.oracle, self.impl):
                worker.start()
        except WorkerSetupError as e:
            self.write({"type": "setup_error", "message": str(e)})
            return
        self.write({"type": "ready", "versions": {**self.oracle.versions, **self.impl.versions}})
        try:
            while not self._finished():
                self.round += 1
                mode = "stateful" if self.round % STATEFUL_EVERY == 0 else "cases"
                self.write({"type": "round", "round": self.round, "mode": mode,
                            # worker restarts so far: after a crash, hang or bloat / on memory growth
                            "restarts": self.oracle.restarts + self.impl.restarts,
                            "recycles": self.oracle.recycles + self.impl.recycles})
                self._run_round(mode)
        finally:
            self.oracle.stop()
            self.impl.stop()
            self._log.close()

    def _finished(self):
        spec = self.spec
        return (time.time() >= spec["deadline"]
                or os.getppid() != self.parent_pid  # the orchestrator is gone (killed): stop, don't linger
                or (spec["max_examples"] is not None and self.examples >= spec["max_examples"])
                or (spec["fail_fast"] and self.found > 0))

    def _run_round(self, mode):
        self.known = self.known_reader.refresh()
        self.target = self.best = None  # the fingerprint being shrunk, and its smallest case so far
        self.shrink_runs = 0
        rseed = round_seed(self.spec["seed"], self.spec["shard"], self.spec["driver"], self.round)
        base = settings(settings.get_profile("rnnconf-campaign"), database=self.db,
                        max_examples=CASES_PER_ROUND if mode == "cases" else MACHINES_PER_ROUND,
                        stateful_step_count=5)
        final = None
        self.db.start_round()
        seeded = _seed_hypothesis(rseed)
        try:
            if mode == "cases":
                test = settings(base)(make_case_test(self.examine))
                (test if seeded else hypothesis_seed(rseed)(test))()
            else:
                machine_class = machine.machine_for(self.examine)
                run_state_machine_as_test(machine_class if seeded else hypothesis_seed(rseed)(machine_class),
                                          settings=base)
        except StopRound:
            pass
        except Discrepancy as e:
            final = e.verdict
        except Flaky:
            pass  # e.g. a timeout that did not repeat: keep the smallest failure we saw
        except Exception as e:  # noqa: BLE001 - a broken round must not end the campaign
            self.round_errors += 1
            self.write({"type": "round_error", "round": self.round, "error": f"{type(e).__name__}: {e}"[:2000]})
            if self.round_errors >= 3:
                raise
        shrunk = final is not None and judgement.same_failure(self.target, final["fingerprint"])
        if not shrunk:
            self.db.forget_round()
        if self.target is not None:
            self._record(final if shrunk else self.best)

    def examine(self, case):
        """The body of every Hypothesis example (generation and shrinking alike).

        A drawn case is run as `variants` examples of the same structure that differ in their data
        (seed, so weights, inputs and initial states; weight scale; mask values): the workers build
        its layers once and reuse them (tracing them for tf_keras), and the variants are pipelined
        through the workers (differential.check_all), which is where the campaign's throughput comes
        from. While shrinking, only the variant that failed is run, so the test stays a
        deterministic function of the drawn case."""
        shrinking = self.target is not None
        now = time.time()
        if now >= self.spec["deadline"]:
            raise StopRound()
        if shrinking and (now >= self.shrink_deadline or self.shrink_runs >= SHRINK_MAX_RUNS):
            raise StopRound()
        if not shrinking and self._finished():
            raise StopRound()
        variants = differential.variants(case, self.spec.get("variants", VARIANTS))
        if is_stochastic(normalize(case)):
            variants = variants[:STOCHASTIC_VARIANTS]  # each is hundreds of samples a side
        if shrinking:
            variants = [variants[min(self.failing_variant, len(variants) - 1)]]
        elif self.spec["max_examples"] is not None:
            variants = variants[:max(1, self.spec["max_examples"] - self.examples)]
        v, untraceable = None, 0

        def wanted():
            # Once a structure proves untraceable its variants all run eagerly (~30 ms each on tf_keras),
            # and the loop below stops after UNTRACEABLE_VARIANTS of them: send no more than that.
            return UNTRACEABLE_VARIANTS - untraceable if untraceable else None

        with contextlib.closing(differential.check_all(variants, self.oracle, self.impl,
                                                       wanted=wanted)) as verdicts:
            for index, v in enumerate(verdicts):
                self._judge(v, shrinking, index)
                if v["oracle_error"]:
                    break  # an error path: more seeds would only repeat it
                untraceable += v["paths"].get("oracle") == "untraceable"
                if untraceable >= UNTRACEABLE_VARIANTS or (not shrinking and self._finished()):
                    break
        return v

    def _judge(self, v, shrinking, variant_index):
        """Account one verdict; raise the discrepancy Hypothesis must shrink, if it is a new one.

        While shrinking, only a failure with the target's kind and core is the target (a smaller case
        that fails differently is another bug, found in its own round); anything else is no failure
        to Hypothesis."""
        if shrinking:
            self.shrink_runs += 1
        else:
            self.examples += 1
            if variant_index == 0:
                self.drawn_example = self.examples
            self.write(example_record(v, self.examples, variant_index, self.drawn_example))
        if v["kind"] is None:
            return
        fp = v["fingerprint"]
        if shrinking:
            if not judgement.same_failure(self.target, fp):
                return
            if _size(v["case"]) < _size(self.best["case"]):
                self.best = v
        else:
            explained = self._explained(v)
            if explained is None:
                self.known = self.known_reader.refresh()  # another driver may have found it meanwhile
                explained = self._explained(v)
            if explained is not None:
                self.write({"type": "occurrence", "signature": explained["signature"]})
                return
            self.target, self.original, self.best = fp, v, v
            self.failing_variant = variant_index
            self.shrink_deadline = time.time() + self.spec.get("shrink_budget_s", SHRINK_BUDGET_S)
        # One raise for both: Hypothesis tells failures apart by exception class and line.
        raise DISCREPANCY_KINDS[v["kind"]](v)

    def _explained(self, v):
        """The known discrepancy this failure is an instance of (conformance.judge.explains), or None.
        The exact original of a known one counts too: the example database replays originals."""
        return next((k for k in self.known if judgement.explains(k["fingerprint"], v["fingerprint"])
                     or v["case"] == k.get("original")), None)

    def _record(self, v):
        explained = self._explained(v)  # another driver may have found and shrunk it meanwhile
        if explained is not None:
            self.write({"type": "occurrence", "signature": explained["signature"]})
            return
        fp = self._essential(v)
        if fp["features"] != v["fingerprint"]["features"]:
            explained = next((k for k in self.known if judgement.explains(k["fingerprint"], fp)), None)
            if explained is not None:
                self.write({"type": "occurrence", "signature": explained["signature"]})
                return
        record = {"type": "discrepancy", "signature": judgement.signature(fp), "fingerprint": fp,
                  "kind": v["kind"], "clauses": v["clauses"], "config": v["case"],
                  "original": self.original["case"], "original_fingerprint": self.original["fingerprint"],
                  "detail": v["detail"], "original_detail": self.original["detail"],
                  "mismatches": v["mismatches"][:8], "side": v["side"], "shrink_runs": self.shrink_runs}
        self.write(record)
        self.known = self.known_reader.refresh()
        if not is_xfailed(record, self.spec["xfail"]):
            self.found += 1


    def _essential(self, v):
        """v's fingerprint with only the features its failure needs (conformance.judge.essential),
        each tried on fresh layers; as found where the campaign is out of time."""
        def fails_the_same(case):
            if time.time() >= self.spec["deadline"]:
                return False
            w = differential.check(case, self.oracle, self.impl, fresh=True)
            return w["kind"] is not None and judgement.same_failure(v["fingerprint"], w["fingerprint"])
        return judgement.essential(v["fingerprint"], v["case"], fails_the_same)


def _seed_hypothesis(value):
    """Make the next Hypothesis run draw from `value`. The public @seed would do it, but it also
    turns the example database off, and the database is what replays a found failure first; so seed
    the generator Hypothesis uses for unseeded runs. Returns False where that is not possible (then
    the caller falls back to @seed, without replay)."""
    import random

    from hypothesis import core
    local = getattr(core, "threadlocal", None)
    if local is None or not hasattr(local, "_hypothesis_global_random"):
        return False
    local._hypothesis_global_random = random.Random(value)
    return True


def _size(case):
    return len(json.dumps(case, sort_keys=True))


class KnownDiscrepancies:
    """The discrepancy records of DIR's logs (every driver's), read incrementally: a driver asks at
    every round, and the logs grow by hundreds of example lines a second."""
    PREFIX = '{"type": "discrepancy"'  # how Driver.write starts such a line

    def __init__(self, out):
        self.out, self.offsets, self.records = out, {}, []

    def refresh(self):
        for line in new_log_lines(self.out, self.offsets):
            if line.startswith(self.PREFIX):
                try:
                    self.records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return self.records


def new_log_lines(out, offsets):
    """The complete lines appended to DIR's logs since `offsets` (path -> position), which it advances;
    a line still being written is left for the next call."""
    for path in log_paths(out):
        with open(path) as f:
            f.seek(offsets.get(path, 0))
            for line in iter(f.readline, ""):
                if not line.endswith("\n"):
                    break
                offsets[path] = f.tell()
                yield line


def _exit_on_term(signum, frame):
    raise SystemExit(128 + signum)


def drive(spec):
    """Entry point of a driver process."""
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    import warnings
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # inf - inf in comparisons of diverging cases
    signal.signal(signal.SIGTERM, _exit_on_term)  # so `finally` stops this driver's workers
    Driver(spec).run()


# ---- from logs to results.json -----------------------------------------------------------------------
def aggregate(out, results, xfail=(), since=None, tail=None):
    """Fill a conformance.results.Results from DIR's logs; returns the results.json dict. `tail` is a
    LogTail already following DIR (the running campaign's), so nothing is read twice.

    Discrepancies are deduplicated across drivers by signature and numbered in the order found.
    A failing example counts as a failure only for the clauses its discrepancy's shrunk case needs
    (less the ubiquitous ones), and as nothing for its other clauses: a failing example is never a
    pass. A failing example that no discrepancy explains fails all its clauses. An inconclusive
    example counts as inconclusive for its clauses. `fuzz_evidence` maps each clause the fuzzer failed
    to the discrepancies behind it ("unattributed" for failures no discrepancy explains).
    """
    tail = (tail or LogTail(out)).poll(xfail)
    found = sorted(tail.found, key=lambda r: r["t"])
    occurrences = dict(tail.occurrences)
    general = _most_general(found)
    seen, first_t = {}, None
    for r in found:
        if general[r["signature"]] != r["signature"]:
            # Found before a more general discrepancy of the same failure: that one, seen again.
            occurrences[general[r["signature"]]] = occurrences.get(general[r["signature"]], 0) + 1
            continue
        if r["signature"] in seen:
            occurrences[r["signature"]] = occurrences.get(r["signature"], 0) + 1
            continue
        n = len(seen) + 1
        item = results.add_discrepancy(
            r["clauses"], r["kind"], r["config"], r["detail"], repro=f"repro/d-{n:04d}.py",
            occurrences=1, xfail=is_xfailed(r, xfail), side=r["side"], original=r["original"],
            mismatches=r["mismatches"], found_at=r["t"], signature=r["signature"], fingerprint=r.get("fingerprint"),
            original_detail=r.get("original_detail"))
        seen[r["signature"]] = item
        first_t = r["t"] if first_t is None else first_t
    for sig, n in occurrences.items():
        if sig in seen:
            seen[sig]["occurrences"] += n
    for (clause, unsupported), n in tail.passed.items():
        results.record([clause], ok=True, unsupported=unsupported, count=n)
    for clause, n in tail.inconclusive.items():
        results.record([clause], inconclusive=True, count=n)
    results.margins.merge(tail.margins.entries)
    originals = [_case_key(k["original"]) for k in found]
    evidence = {}  # clause -> ids of the discrepancies its failing examples are occurrences of
    for (clauses, fp_json, case_key), n in tail.failed.items():
        fp = json.loads(fp_json)
        known = next((k for k, original in zip(found, originals)
                      if original == case_key or (fp and judgement.explains(k["fingerprint"], fp))), None)
        blamed = set(clauses)
        if known is not None:
            blamed = (set(known["clauses"]) - differential.UBIQUITOUS) & blamed or blamed
        results.record(sorted(blamed), ok=False, count=n)
        item = seen.get(general.get(known["signature"], known["signature"])) if known is not None else None
        for clause in blamed:
            evidence.setdefault(clause, set()).add(item["id"] if item else "unattributed")
    data = results.to_dict()
    data["fuzz_evidence"] = {clause: sorted(ids) for clause, ids in sorted(evidence.items())}
    data["examples"] = tail.examples
    data["time_to_first_discrepancy_s"] = (round(first_t - since, 3) if first_t is not None and since else None)
    return data


def _most_general(found):
    """signature -> the signature that stands for it: a discrepancy that another one explains (the
    same failure, needing a subset of its features: judge.explains) stands for that one."""
    fps = {r["signature"]: r.get("fingerprint") for r in found}
    out = {}
    for sig, fp in fps.items():
        covering = [(len(other["features"]), s) for s, other in fps.items()
                    if s != sig and fp and other and judgement.explains(other, fp)]
        out[sig] = min(covering)[1] if covering else sig
    return out


def _case_key(case):
    return hashlib.sha1(json.dumps(case, sort_keys=True, default=str).encode()).hexdigest()


# ---- the orchestrator: drivers in processes, progress, checkpoints ------------------------------------
class LogTail:
    """Follows the drivers' logs, reading only what was appended since the last look, and keeps what
    progress and results.json need as tallies, so that a long campaign costs neither re-reading nor
    memory: examples passed are counted per (clause, unsupported), inconclusive ones per clause,
    failing ones per (clauses, fingerprint, case), discrepancies and setup errors kept as read."""

    def __init__(self, out):
        self.out, self.offsets = out, {}
        self.examples = self.discrepancies = self.failing = 0
        self.setup_errors, self.found = [], []
        self.passed, self.failed, self.occurrences = Counter(), Counter(), Counter()
        self.inconclusive = Counter()
        self.margins = MarginTally()
        self.driver_failures = []

    def poll(self, xfail=()):
        for line in new_log_lines(self.out, self.offsets):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line of a killed run
            self._add(record, xfail)
        return self

    def _add(self, record, xfail):
        kind = record["type"]
        if kind == "example":
            self.examples += 1
            if record["ok"] or record["unsupported"]:
                # Per clause, not per set of clauses: a long campaign keeps reaching new sets of
                # clauses (thousands), while the clauses themselves are a fixed few dozen.
                unsupported = bool(record["unsupported"])
                for clause in record["clauses"]:
                    self.passed[clause, unsupported] += 1
                if not unsupported:
                    self.margins.add(record["clauses"], record.get("margin"))
            elif record.get("inconclusive"):
                for clause in record["clauses"]:
                    self.inconclusive[clause] += 1
            elif record.get("side") != "oracle":  # an oracle crash or hang checked nothing
                fp = json.dumps(record.get("fingerprint"), sort_keys=True)
                self.failed[tuple(record["clauses"]), fp, _case_key(record["case"])] += 1
        elif kind == "discrepancy":
            self.discrepancies += 1
            self.failing += not is_xfailed(record, xfail)
            self.found.append(record)
        elif kind == "occurrence":
            self.occurrences[record["signature"]] += 1
        elif kind == "setup_error":
            self.setup_errors.append(record["message"])


def share(total, index, parts):
    """The `index`-th (0-based) of `parts` near-equal shares of `total`."""
    if total is None:
        return None
    return total // parts + (1 if index < total % parts else 0)


def driver_specs(*, impl, oracle, out, seed, shard, workers, max_examples, deadline, fail_fast, xfail,
                 timeout_s, shrink_budget_s=SHRINK_BUDGET_S, memory_mb=4096,
                 variants=VARIANTS):
    """One spec per driver: shard K of N is split again between the `workers` drivers."""
    k, n = shard
    specs = []
    for w in range(1, workers + 1):
        specs.append(dict(impl=impl, oracle=oracle, out=out, log=os.path.join(out, f"log-{k}-{n}-w{w}.jsonl"),
                          seed=seed, shard=(k, n), driver=(w, workers),
                          max_examples=share(max_examples, (k - 1) * workers + (w - 1), n * workers),
                          deadline=deadline, fail_fast=fail_fast, xfail=list(xfail), timeout_s=timeout_s,
                          shrink_budget_s=shrink_budget_s, memory_mb=memory_mb,
                          variants=variants))
    return specs


def run_drivers(specs, on_tick=None, tick_s=0.5, grace_s=None, tail=None, stop=None):
    """Start the drivers, call `on_tick(tail)` while they run, stop them at the deadline (plus grace),
    with fail_fast once one logged a discrepancy, or once `stop()` is true. Returns the final
    LogTail; its `driver_failures` say which drivers ended on an error of their own."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    out, deadline = specs[0]["out"], specs[0]["deadline"]
    xfail = specs[0]["xfail"]
    grace_s = grace_s if grace_s is not None else specs[0]["timeout_s"] + 15
    tail = tail or LogTail(out)
    already = tail.poll(xfail).failing  # a resumed run's earlier discrepancies do not stop it
    processes = []
    for spec in specs:
        p = ctx.Process(target=drive, args=(spec,), name=f"rnnconf-driver-{spec['driver'][0]}")
        p.start()
        processes.append(p)
    try:
        while any(p.is_alive() for p in processes):
            time.sleep(tick_s)
            tail.poll(xfail)
            if on_tick:
                on_tick(tail)
            if specs[0]["fail_fast"] and tail.failing > already:
                deadline = min(deadline, time.time() + 2.0)  # let the others finish their line
            if time.time() > deadline + grace_s or (stop is not None and stop()):
                break
    finally:
        ended = [p.exitcode for p in processes]  # None: still running, so stopped here
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join(5)
    tail.poll(xfail)
    tail.driver_failures = [f"driver {spec['driver'][0]} exited with status {code} (see {spec['log']})"
                            for spec, code in zip(specs, ended) if code not in (None, 0)]
    return tail
