"""The campaign directory's logs: one append-only JSON-lines log per driver, and reading them back.

A log (DIR/log-K-N-wW.jsonl: shard K of N, driver W) holds records of these types:
  ready        the workers started (their versions)        setup_error  they could not
  round        a Hypothesis round began (mode, worker restarts so far)
  example      one judged example (`example_record`)       round_error  a round broke
  discrepancy  a new failure, already shrunk                occurrence   a known one, seen again
                                                            (its "alias": a failure that shrank into it)
  skipped      drawn cases of a round not run: they use a feature the implementation refuses (fuzz.refusals)
  hidden       a failure with a known one's features still failed without one of them ("without"): another
               bug, shrunk next on cases without that feature (its discrepancy record says "without" too)
A discrepancy's "same_cause_as" maps known discrepancies it is the same bug as, shown elsewhere, to the
features they share (Driver._same_cause); an occurrence "checked" was run without the known one's features.
A passing variant after a drawn case's first is logged by reference (`example_cases` rebuilds it).
A killed run loses at most the line being written; readers skip a torn last line.

`LogTail` follows every log of DIR incrementally and keeps the tallies results.json needs;
`aggregate` turns them into results.json (clause accounting: rnnconf.engine.results).
"""
import glob
import json
import os
from collections import Counter

from rnnconf.engine.cases import case_key
from rnnconf.engine.results import MarginTally, is_xfailed

from . import differential

ORACLE_FAILURES_KEPT = 5  # examples of the oracle crashing or hanging kept for the report
NOT_FAILING_KEPT = 10     # examples per judge.NOT_FAILING status kept for results.json
UNSUPPORTED_DETAIL_CHARS = 300


def log_paths(out):
    return sorted(glob.glob(os.path.join(out, "log-*.jsonl")))


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


def ends_with_newline(path):
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def example_record(v, n, variant_index, drawn_example):
    """The log record of verdict `v`, the campaign's `n`th example and variant `variant_index` of the
    drawn case logged as example `drawn_example`. A passing variant after the first is logged by
    reference (see example_cases); a failing one keeps its whole case: results count failures per case."""
    what = ({"case": v["case"]} if variant_index == 0 or not (v["ok"] or v["unsupported"]) or v.get("named")
            else {"variant": variant_index, "of": drawn_example})
    record = {"type": "example", "n": n, **what, "clauses": v["clauses"], "ok": v["ok"],
              "unsupported": v["unsupported"], "kind": v["kind"], "side": v["side"],
              "seconds": {k: round(t, 6) for k, t in v["seconds"].items() if t is not None}}
    if v["unsupported"]:
        record["detail"] = v["detail"][:UNSUPPORTED_DETAIL_CHARS]  # the reason, shown per clause
    if v["case"].get("gradients"):
        record["gradients"] = True  # the example differentiated: counted apart (LogTail.gradients)
    if v.get("converted"):
        record["converted"] = v["converted"]  # models a converter target converted for this example
    if v.get("inconclusive"):
        record["inconclusive"] = True
        if v["side"] == "oracle":
            record["detail"] = v["detail"][:500]
    if v.get("named"):  # judge.NOT_FAILING: reported, not failed
        record.update(named=v["named"], why=v.get("why"), detail=v["detail"][:500], named_clauses=v["named_clauses"])
    if v["ok"] and v.get("margin"):
        record["margin"] = {dt: float(f"{r:.3g}") for dt, r in v["margin"].items()}
    if v["kind"] is not None:
        record["fingerprint"] = v["fingerprint"]
    if v.get("by_design"):
        record["by_design"] = v["by_design"]  # the known difference that accounts for its failure
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


class KnownDiscrepancies:
    """The discrepancy records of DIR's logs (every driver's), read incrementally: a driver asks at
    every round, and the logs grow by hundreds of example lines a second. An occurrence with an
    "alias" (a failure that shrank into a known discrepancy) counts as a record of that discrepancy
    with the alias's fingerprint, so the same failure is not shrunk again."""
    PREFIX = '{"type": "discrepancy"'  # how Driver.write starts such a line
    ALIAS_PREFIX = '{"type": "occurrence"'

    def __init__(self, out):
        self.out, self.offsets, self.records = out, {}, []

    def refresh(self):
        for line in new_log_lines(self.out, self.offsets):
            alias = line.startswith(self.ALIAS_PREFIX) and '"alias"' in line
            if not (alias or line.startswith(self.PREFIX)):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if alias:
                record = {"signature": record["signature"], "fingerprint": record["alias"], "alias": True}
            self.records.append(record)
        return self.records


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
        self.gradients = Counter()  # examples that differentiated, per outcome (see outcome)
        self.unsupported_reasons = {}  # clause -> Counter of the implementation's reasons
        self.conversions = 0
        self.margins = MarginTally()
        self.oracle_failures, self.oracle_failure_examples = 0, []
        self.driver_failures = []
        self.skipped = Counter()  # feature -> drawn cases not run: the implementation always refused it
        self.differences = {}  # (file, line) of a known difference -> its row: examples, clauses, a first case
        # judge.NOT_FAILING: checks per (clause, status); a few examples and the total per status
        self.not_failing = Counter()
        self.not_failing_examples, self.not_failing_examples_total = {}, Counter()

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
            self.conversions += record.get("converted", 0)
            if record.get("gradients"):
                self.gradients[outcome(record)] += 1
            if record.get("by_design"):
                self._add_by_design(record)
            if record.get("named"):
                status = record["named"]
                for clause in record.get("named_clauses") or record["clauses"]:
                    self.not_failing[clause, status] += 1
                self.not_failing_examples_total[status] += 1
                kept = self.not_failing_examples.setdefault(status, [])
                if len(kept) < NOT_FAILING_KEPT:
                    kept.append({"source": "fuzz", "config": record.get("case"), "clauses": record["clauses"],
                                 "detail": record.get("detail", ""), "why": record.get("why")})
            elif record["ok"] or record["unsupported"]:
                # Per clause, not per set of clauses: a long campaign keeps reaching new sets of
                # clauses (thousands), while the clauses themselves are a fixed few dozen.
                unsupported = bool(record["unsupported"])
                for clause in record["clauses"]:
                    self.passed[clause, unsupported] += 1
                    if unsupported and record.get("detail"):
                        self.unsupported_reasons.setdefault(clause, Counter())[record["detail"]] += 1
                if not unsupported:
                    self.margins.add(record["clauses"], record.get("margin"))
            elif record.get("inconclusive") and record.get("side") == "oracle":
                # The oracle crashed or hung: nothing was checked, so no clause counts it.
                self.oracle_failures += 1
                if len(self.oracle_failure_examples) < ORACLE_FAILURES_KEPT:
                    self.oracle_failure_examples.append({"detail": record.get("detail", ""),
                                                         "case": record.get("case")})
            elif record.get("inconclusive"):
                for clause in record["clauses"]:
                    self.inconclusive[clause] += 1
            elif record.get("side") != "oracle":  # an oracle crash or hang checked nothing
                fp = json.dumps(record.get("fingerprint"), sort_keys=True)
                self.failed[tuple(record["clauses"]), fp, case_key(record["case"])] += 1
        elif kind == "discrepancy":
            self.discrepancies += 1
            self.failing += not is_xfailed(record, xfail)
            self.found.append(record)
        elif kind == "occurrence":
            self.occurrences[record["signature"]] += 1
        elif kind == "skipped":
            self.skipped.update(record["features"])
        elif kind == "setup_error":
            self.setup_errors.append(record["message"])


    def _add_by_design(self, record):
        d = record["by_design"]
        row = self.differences.setdefault((d.get("file"), d.get("line")), dict(
            d, examples=0, clauses=[], case=record.get("case"), fingerprint=d.get("fingerprint")))
        row["examples"] += 1
        row["clauses"] = sorted(set(row["clauses"]) | set(record["clauses"]))


def outcome(record):
    """What an example record says of its example, in the order LogTail._add reads it: a
    judge.NOT_FAILING status, "unsupported", "pass", "oracle_failure" (nothing checked),
    "inconclusive" or "fail"."""
    if record.get("named"):
        return record["named"]
    if record["unsupported"]:
        return "unsupported"
    if record["ok"]:
        return "pass"
    if record.get("inconclusive"):
        return "oracle_failure" if record.get("side") == "oracle" else "inconclusive"
    return "fail"


def aggregate(out, results, xfail=(), since=None, tail=None):
    """Fill a rnnconf.engine.results.Results from DIR's logs (Results.merge_fuzz); returns the
    results.json dict. `tail` is a LogTail already following DIR (the running campaign's), so
    nothing is read twice."""
    return results.merge_fuzz((tail or LogTail(out)).poll(xfail), xfail, since)
