"""A driver: one sequential campaign loop, in its own process, with its own oracle and
implementation workers (rnnconf.adapters.worker), writing its own log (fuzz.logs).

A driver runs Hypothesis "rounds": a @given test over strategies.cases() (or, one round in four,
the stateful machine) whose body runs one drawn case, as data variants, through both workers and
differential.check_all. The body raises only for a discrepancy that no known one explains, so
Hypothesis shrinks exactly the new ones; the round then ends, the shrunk case is logged, and the
next round (a new seed derived from --seed, the shard, the driver and the round number) goes on
exploring. Each driver keeps its own example database (DIR/hypothesis/), so a failure found once is
replayed first when the run resumes.
"""
import contextlib
import json
import os
import signal
import time
import warnings

from hypothesis import reject, seed as hypothesis_seed, settings
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test

from rnnconf.engine import judge as judgement
from rnnconf.engine import known_differences
from rnnconf.engine.cases import is_stochastic, normalize
from rnnconf.engine.results import is_xfailed, merge_versions

from . import differential, machine, strategies
from .logs import KnownDiscrepancies, example_record, read_log, ends_with_newline
from .refusals import Refusals
from .rounds import DISCREPANCY_KINDS, Discrepancy, StopRound, make_case_test, round_seed, seed_hypothesis
from rnnconf.adapters.worker import Worker, WorkerSetupError
from .databases import RoundDatabase, SHARED_DB_ENV, SharedDatabaseError, shared_database
from .budgets import (REFUSED_VARIANTS, SHRINK_BUDGET_S, SHRINK_MAX_RUNS, STOCHASTIC_VARIANTS,
                      UNTRACEABLE_VARIANTS, VARIANTS)


STATEFUL_EVERY = 4          # every 4th round drives the stateful machine
CASES_PER_ROUND = 50
MACHINES_PER_ROUND = 8


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
        self.strip = None  # (feature, alternative): taken from every case while shrinking a hidden failure
        self.suspect = None  # (verdict, known, variant): a failure a known one seems to explain, not yet run without it
        self.known = []
        self.explained_checked = set()  # (known signature, failure signature) found explained on a run
        # One database per driver: another driver's half-shrunk case must not be replayed here.
        k, n = spec["shard"]
        path = os.path.join(spec["out"], "hypothesis", f"{k}-{n}-w{spec['driver'][0]}")
        try:
            self.db_error = None
            self.db = RoundDatabase(path, shared_database(os.environ.get(SHARED_DB_ENV), spec["impl"]))
        except SharedDatabaseError as e:  # said as a set-up error once the log is open (run)
            self.db_error, self.db = str(e), RoundDatabase(path)
        self.known_reader = KnownDiscrepancies(spec["out"])
        # The implementation's known differences: failures they account for are no discrepancies.
        self.differences = known_differences.read(spec["known"]) if spec.get("known") else None
        self.refusals = Refusals(spec["seed"])
        self._log = open(self.log_path, "a", buffering=1)
        if self._log.tell() and not ends_with_newline(self.log_path):
            self._log.write("\n")  # a killed run's torn last line stays a line of its own
        stderr_path = os.path.join(spec["out"], "workers.log")
        self.oracle = Worker(spec["oracle"], spec["timeout_s"], spec["memory_mb"], stderr_path)
        self.impl = Worker(spec["impl"], spec["timeout_s"], spec["memory_mb"], stderr_path, retry_eager_reuse=False)

    def write(self, record):
        record["t"] = time.time()
        self._log.write(json.dumps(record, default=str) + "\n")

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self):
        if self.db_error:
            self.write({"type": "setup_error", "message": self.db_error})
            self._log.close()
            return
        try:
            for worker in (self.oracle, self.impl):
                worker.start()
        except WorkerSetupError as e:
            self.write({"type": "setup_error", "message": str(e)})
            return
        self.write({"type": "ready", "versions": merge_versions(self.oracle.versions, self.impl.versions,
                                                                self.spec["impl"])})
        try:
            while not self._finished():
                self.round += 1
                mode = "stateful" if self.round % STATEFUL_EVERY == 0 else "cases"
                if mode == "stateful" and self.refusals.skip_features(machine.FEATURES, f"round {self.round}",
                                                                      count=MACHINES_PER_ROUND):
                    mode = "cases"  # the implementation refuses stateful layers: most machine rounds draw cases
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
        self.strip = None
        self.shrink_runs = 0
        rseed = round_seed(self.spec["seed"], self.spec["shard"], self.spec["driver"], self.round)
        base = settings(settings.get_profile("rnnconf-campaign"), database=self.db,
                        max_examples=CASES_PER_ROUND if mode == "cases" else MACHINES_PER_ROUND,
                        stateful_step_count=5)
        final = None
        self.db.start_round()
        seeded = seed_hypothesis(rseed)
        try:
            if mode == "cases":
                test = settings(base)(make_case_test(self.examine))
                (test if seeded else hypothesis_seed(rseed)(test))()
            else:
                machine_class = machine.machine_for(self.examine)
                run_state_machine_as_test(machine_class if seeded else hypothesis_seed(rseed)(machine_class),
                                          settings=base)
        except (StopRound, Unsatisfiable):  # Unsatisfiable: every drawn case used a refused feature
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
        self._log_skipped()
        shrunk = final is not None and judgement.same_failure(self.target, final["fingerprint"])
        if not shrunk:
            self.db.forget_round()
        if self.target is not None:
            self._record(final if shrunk else self.best)

    def _log_skipped(self):
        skipped = self.refusals.take_skipped()
        if skipped:
            self.write({"type": "skipped", "round": self.round, "features": skipped})

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
        if not shrinking and self.refusals.skip(case) is not None:
            reject()  # Hypothesis draws another case
        if self.spec.get("fixed_weights") and case.get("weights_seed") is None:
            case = dict(case, weights_seed=case.get("seed", 0))  # its variants vary the data only
        variants = differential.variants(case, self.spec.get("variants", VARIANTS))
        if is_stochastic(normalize(case)):
            variants = variants[:STOCHASTIC_VARIANTS]  # each is hundreds of samples a side
        if shrinking:
            variants = [self._stripped(variants[min(self.failing_variant, len(variants) - 1)])]
        elif self.spec["max_examples"] is not None:
            variants = variants[:max(1, self.spec["max_examples"] - self.examples)]
        v, untraceable, refused = None, 0, 0
        self.suspect = None

        def wanted():
            # Once a structure proves untraceable its variants all run eagerly (~30 ms each on tf_keras),
            # and the loop below stops after UNTRACEABLE_VARIANTS of them: send no more than that; and
            # after REFUSED_VARIANTS refusals in a row.
            if refused:
                return REFUSED_VARIANTS - refused
            return UNTRACEABLE_VARIANTS - untraceable if untraceable else None

        with contextlib.closing(differential.check_all(variants, self.oracle, self.impl, wanted=wanted,
                                                       known=self.differences)) as verdicts:
            for index, v in enumerate(verdicts):
                self._judge(v, shrinking, index)
                if v["oracle_error"]:
                    break  # an error path: more seeds would only repeat it
                untraceable += "untraceable" in v["paths"].values()
                refused = refused + 1 if v["unsupported"] or v["kind"] == "error" else 0
                if (untraceable >= UNTRACEABLE_VARIANTS or refused >= REFUSED_VARIANTS
                        or (not shrinking and self._finished())):
                    break
        if self.suspect is not None:
            self._settle_suspect()
        return v

    def _settle_suspect(self):
        """Decide the failure that a known discrepancy seemed to explain (see _judge): run once the
        workers are idle. An occurrence of it, unless the case still fails without its features; then
        that other failure is the discrepancy to shrink, on cases without those features."""
        suspect, known, index = self.suspect
        self.suspect = None
        hidden = self._hidden(suspect, known)
        if hidden is None:
            self.write({"type": "occurrence", "signature": known["signature"], "checked": True})
            return
        feature, alternative, w = hidden
        self.write({"type": "hidden", "signature": known["signature"], "without": feature,
                    "fingerprint": w["fingerprint"]})
        self.strip = (feature, alternative)
        self._start_target(w, index)
        raise DISCREPANCY_KINDS[w["kind"]](w)

    def _stripped(self, case):
        """`case` without the feature being stripped while shrinking a hidden failure, if it has it."""
        if self.strip is None:
            return case
        feature, alternative = self.strip
        if feature not in judgement.features(case):
            return case
        alternatives = judgement.without_feature(case, feature)
        return alternatives[min(alternative, len(alternatives) - 1)] if alternatives else case

    def _hidden(self, v, known):
        """(feature, alternative index, verdict) of a failure v's case still shows without one of the
        features of `known` (judge.without_feature), on fresh layers, that no known discrepancy
        explains: a second bug behind the known one. None where every such case passes or fails as
        known (then v is an occurrence of `known`), or the campaign is out of time."""
        key = (known["signature"], judgement.signature(v["fingerprint"]))
        if key in self.explained_checked:
            return None
        # An alias (a failure that shrank into a known one) names all its original's features: the
        # discrepancy it stands for needs fewer, and those are the ones to take away.
        record = next((k for k in self.known if k["signature"] == known["signature"] and not k.get("alias")), known)
        has = set(judgement.features(v["case"]))
        for feature in (f for f in record["fingerprint"]["features"] if f in has):
            for alternative, case in enumerate(judgement.without_feature(v["case"], feature)):
                if time.time() >= self.spec["deadline"]:
                    return None
                w = differential.check(case, self.oracle, self.impl, fresh=True, known=self.differences)
                if w["kind"] is not None and w["side"] != "oracle" and self._explained(w, verify=False) is None:
                    return feature, alternative, w
        self.explained_checked.add(key)
        return None

    def _passes_without(self, case, features):
        """Whether `case` passes on fresh layers without `features` (judge.without_features), each
        way of taking them away; False where the campaign is out of time."""
        for alternative in judgement.without_features(case, features):
            if time.time() >= self.spec["deadline"]:
                return False
            w = differential.check(alternative, self.oracle, self.impl, fresh=True, known=self.differences)
            if w["kind"] is not None or w["unsupported"] or w.get("inconclusive"):
                return False
        return True

    def _judge(self, v, shrinking, variant_index):
        """Account one verdict; raise the discrepancy Hypothesis must shrink, if it is a new one.

        While shrinking, only a failure with the target's kind and core is the target (a smaller case
        that fails differently is another bug, found in its own round); anything else is no failure
        to Hypothesis."""
        if shrinking:
            self.shrink_runs += 1
        else:
            self.examples += 1
            self.refusals.learn(v)
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
                if self._explained(v, verify=False) is not None:
                    # Shrunk into a known discrepancy (one bug that several feature sets trigger): this
                    # one is that, and shrinking further would only find it again (_record says so).
                    raise StopRound()
        else:
            explained = self._explained(v, verify=False)
            if explained is None:
                self.known = self.known_reader.refresh()  # another driver may have found it meanwhile
                explained = self._explained(v, verify=False)
            if explained is not None:
                if v["case"] == explained.get("original") or self.suspect is not None or (
                        explained["signature"], judgement.signature(fp)) in self.explained_checked:
                    self.write({"type": "occurrence", "signature": explained["signature"]})
                else:
                    # Whether the case still fails without the known one's features is run once the
                    # workers are idle (_settle_suspect): they still owe this case's other variants.
                    self.suspect = (v, explained, variant_index)
                return
            self._start_target(v, variant_index)
        # One raise for both: Hypothesis tells failures apart by exception class and line.
        raise DISCREPANCY_KINDS[v["kind"]](v)

    def _start_target(self, v, variant_index):
        self.target, self.original, self.best = v["fingerprint"], v, v
        self.failing_variant = variant_index
        self.shrink_started = time.time()
        self.shrink_deadline = self.shrink_started + self.spec.get("shrink_budget_s", SHRINK_BUDGET_S)

    def _explained(self, v, verify=True):
        """The known discrepancy this failure is an instance of, or None. The exact original of a known
        one counts: the example database replays originals. Otherwise a known one must have its kind,
        core and features (rnnconf.engine.judge.explains), and, where `verify`, the case must stop failing
        without those features: a case that still fails without them carries another bug as well
        (_hidden). Runs cases: `verify` only while the workers are idle."""
        original = next((k for k in self.known if v["case"] == k.get("original")), None)
        if original is not None:
            return original
        return next((k for k in self.known if judgement.explains(k["fingerprint"], v["fingerprint"])
                     and (not verify or self._hidden(v, k) is None)), None)

    def _record(self, v):
        self.known = self.known_reader.refresh()  # another driver may have found and shrunk it meanwhile
        explained = self._explained(v)
        if explained is None:
            fp = self._essential(v)
            if fp["features"] != v["fingerprint"]["features"]:
                explained = next((k for k in self.known if judgement.explains(k["fingerprint"], fp)
                                  and self._hidden(v, k) is None), None)
        if explained is not None:
            # The original failure is that known discrepancy: so is any later one with its kind, core and
            # features (KnownDiscrepancies reads the alias), which is then not shrunk again.
            self.write({"type": "occurrence", "signature": explained["signature"],
                        "alias": self.original["fingerprint"], "shrink_s": self._shrink_seconds()})
            return
        v = self._reduced(v, fp)
        record = {"type": "discrepancy", "signature": judgement.signature(fp), "fingerprint": fp,
                  "kind": v["kind"], "clauses": v["clauses"], "config": v["case"],
                  "original": self.original["case"], "original_fingerprint": self.original["fingerprint"],
                  "detail": v["detail"], "original_detail": self.original["detail"],
                  "mismatches": v["mismatches"][:8], "side": v["side"], "shrink_runs": self.shrink_runs,
                  "same_cause_as": self._same_cause(fp, v["case"]), "shrink_s": self._shrink_seconds()}
        if self.strip is not None:
            record["without"] = self.strip[0]  # found behind a known discrepancy with this feature
        self.write(record)
        self.known = self.known_reader.refresh()
        if not is_xfailed(record, self.spec["xfail"]):
            self.found += 1

    def _reduced(self, v, fp):
        """v's failure on its case without the features it does not need (those `fp`, its essential
        fingerprint, dropped), taken away one at a time where the case still fails the same way on
        fresh layers: the reproducer then shows this bug alone, not another one the shrunk case
        happens to carry too (a GRUCell of a target whose GRUCell is also wrong). As it is where
        nothing can be taken away, on a reused layer, or out of time."""
        if v["case"].get("warmup"):
            return v
        # A cell is made another kind only where it is a custom cell or a known discrepancy needs it (the
        # GRUCell of a known GRUCell bug), and then preferably into a kind no known one needs; a kind
        # brought in this way is not taken away again.
        known = {f for k in self.known for f in k["fingerprint"]["features"]}
        tried = set(fp["features"])
        changed = True
        while changed:
            changed = False
            have = judgement.features(v["case"])
            for feature in [f for f in have if f not in tried]:
                tried.add(feature)
                if feature.startswith("cell:") and not (feature.startswith("cell:custom") or feature in known):
                    continue
                alternatives = sorted(judgement.without_feature(v["case"], feature),
                                      key=lambda c: len((set(judgement.features(c)) - set(have)) & known))
                for case in alternatives:
                    if time.time() >= self.spec["deadline"]:
                        return v
                    w = differential.check(case, self.oracle, self.impl, fresh=True, known=self.differences)
                    if w["kind"] is not None and judgement.same_failure(v["fingerprint"], w["fingerprint"]):
                        tried.update(set(judgement.features(case)) - set(have))
                        v, changed = w, True
                        break
                if changed:
                    break  # the features of the new case
        return v

    def _same_cause(self, fp, case):
        """{signature: shared features} of the known discrepancies that this new one is the same bug
        as, shown elsewhere (another call, another returned tensor, another cell): the two share
        features beyond a cell kind, one needs nothing more but its cell (judge.shared_cause), and
        both cases pass once those features are taken away. A distinct bug needing the same features
        that still fails without them stays apart. An error that needs every feature of another
        failure and more (judge.cause_beneath) is that failure where its case, without those extra
        features, fails as that failure does; see docs/root-causes.md."""
        same = {}
        for k in self.known:
            if k.get("alias") or k["signature"] in same or not k.get("config"):
                continue
            shared = judgement.shared_cause(k["fingerprint"], fp)
            if not shared:
                continue
            beneath = judgement.cause_beneath(k["fingerprint"], fp)
            if beneath is not None:
                cause, error = beneath
                error_case = case if error is fp else k["config"]
                if self._shows_beneath(error_case, error, cause):
                    same[k["signature"]] = shared
            elif self._passes_without(case, shared) and self._passes_without(k["config"], shared):
                same[k["signature"]] = shared
        return same

    def _shows_beneath(self, case, error, cause):
        """Whether the error `error`'s `case`, without the features it needs beyond those of `cause`
        (a cell kind stays: the case needs one), fails on fresh layers as `cause` does (its kind, with
        every feature it needs), each way of taking them away, and passes without the features of
        `cause`, each taken away alone. A case that still fails without one of them carries another bug
        too (a one-cell stack under a mask, raising of its own in float32), and which of the two the
        error is cannot be told: it joins neither. False where nothing is left to take away or the
        campaign is out of time."""
        extra = [f for f in error["features"] if f not in cause["features"] and not f.startswith(("cell:", "layer:"))]
        if not extra or not all(self._passes_without(case, [f]) for f in cause["features"]):
            return False
        for alternative in judgement.without_features(case, extra):
            if time.time() >= self.spec["deadline"]:
                return False
            w = differential.check(alternative, self.oracle, self.impl, fresh=True, known=self.differences)
            shown = w["fingerprint"]
            if (w["kind"] != cause["kind"] or shown is None
                    or not set(cause["features"]) <= set(shown["features"])
                    or (cause["kind"] == "error" and shown["core"] != cause["core"])):
                return False
        return True

    def _shrink_seconds(self):
        """Seconds from finding the failure being shrunk to now (shrinking and its essential features)."""
        return round(time.time() - self.shrink_started, 2)

    def _essential(self, v):
        """v's fingerprint with only the features its failure needs (rnnconf.engine.judge.essential),
        each tried on fresh layers; as found where the campaign is out of time. A case that fails the
        same way without a feature only because that brings in a known bug (its cell made a GRUCell,
        once the GRUCell's bug is known) does not make the feature spare."""
        def fails_the_same(case):
            if time.time() >= self.spec["deadline"]:
                return False
            w = differential.check(case, self.oracle, self.impl, fresh=True, known=self.differences)
            if w["kind"] is None or not judgement.same_failure(v["fingerprint"], w["fingerprint"]):
                return False
            known = self._explained(w, verify=False)
            return known is None or set(known["fingerprint"]["features"]) <= set(v["fingerprint"]["features"])
        return judgement.essential(v["fingerprint"], v["case"], fails_the_same)


def _size(case):
    return len(json.dumps(case, sort_keys=True))


def _exit_on_term(signum, frame):
    raise SystemExit(128 + signum)


def drive(spec):
    """Entry point of a driver process."""
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # inf - inf in comparisons of diverging cases
    signal.signal(signal.SIGTERM, _exit_on_term)  # so `finally` stops this driver's workers
    Driver(spec).run()
