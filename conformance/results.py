"""results.json as data (interfaces.md section 3): all clause accounting, for suite, fuzzer and shards.

`exercised(case, oracle_outcome)` says which clause IDs a case reaches; `Results` counts checks and
failures per clause and keeps discrepancies, from the suite's clause report (`merge_suite`), from the
fuzzer's log tallies (`merge_fuzz`) or one check at a time (`record`); `to_dict()` gives the
results.json object, and `merge_shards` sums several of them. Statuses: fail (a check failed),
differs-by-design (no check failed, and a known difference of the implementation accounts for some:
see known_differences.py; results.json's "known_differences" lists what each entry matched),
oracle-deviation (passes, and the oracle contradicts the page there: see deviations.py), pass,
unsupported (every check needed a feature the implementation lacks), inconclusive (checked, but
every check was either unsupported or too sensitive to judge: see compare.RECHECK_CEILING),
untested. A failing example is never a pass for any of its clauses. A check judged one of
judge.NOT_FAILING (oracle-deviation: inside a recorded deviation, following the oracle or the page;
lenient: accepting what the oracle refuses for its own reasons and computing what it means) is
counted under that status's name in the clause entry ("lenient": 3) and is no failure; a clause
with such checks and no failure shows the first of them in NOT_FAILING's order. results.json's
`not_failing` lists examples of each ({status: {"checks", "examples"}}).

Each clause entry may also carry "margin": per dtype, how close the passing values came to their
bound (MarginTally), so a reader sees whether a pass was comfortable.
"""
import json
import math
import re
import time
from collections import Counter

from . import error_catalog, gradients, known_differences, oracle_coverage
from . import judge as judgement
from .judge import NOT_FAILING
from .cases import BUILTIN_LAYERS, case_key, flag, normalize
from .clauses import ALL_IDS
from .deviations import DEVIATIONS, clauses_with_deviations

_CUSTOM_VARIANT_CLAUSES = {
    "minimal": ["CELL-01", "CELL-03", "CELL-07", "CELL-09", "EX-01"],
    "multi_state": ["CELL-01", "CELL-04", "CELL-06"],
    "multi_no_out": ["CELL-01", "CELL-04", "CELL-07"],
    "hd_state": ["CELL-05", "CELL-06", "SHAPE-01"],
    "init_state": ["CELL-08"],
    "constants": ["CELL-02", "CONST-01"],
    "constants_bare_state": ["CELL-02", "CONST-01"],
    "training": ["CALL-03"],
}


def exercised(case, oracle_outcome=None):
    """Clause IDs a case reaches; for an oracle error, the ERR-xx it classifies as."""
    case = normalize(case)
    ids = {"CALL-01", "SHAPE-01"}
    flags = case["flags"]
    ids.add("SHAPE-03" if flags.get("return_sequences") else "SHAPE-04")
    for name, clause in (("return_sequences", "FLAG-01"), ("return_state", "FLAG-02"),
                         ("go_backwards", "FLAG-03"), ("stateful", "FLAG-04"), ("unroll", "FLAG-05"),
                         ("time_major", "FLAG-06"), ("zero_output_for_mask", "FLAG-07")):
        if flags.get(name):  # checked only where set to its non-default value
            ids.add(clause)
    if flags.get("return_state"):
        ids.add("SHAPE-02")
    kinds = [c["kind"] for c in case["cells"]]
    if len(kinds) > 1 or case["cell_list"]:
        ids.update({"CELL-10", "EX-02"} if all(c.get("variant") == "minimal" for c in case["cells"]) else {"CELL-10"})
    for cell in case["cells"]:
        ids.add("CELL-01")
        if cell["kind"] == "lstm":
            ids.add("CELL-04")
        elif cell["kind"] in ("simple", "gru"):
            ids.add("CELL-03")
        else:
            ids.update(_CUSTOM_VARIANT_CLAUSES.get(cell.get("variant"), []))
        if cell["kind"] != "custom":
            ids.add("CELL-08")
    if case["mask"] is not None:
        ids.update({"CALL-02", "MASK-01"})
    if case["embedding"]:
        ids.update({"MASK-02", "MASK-01"})
    if case["training"] is not None:
        ids.add("CALL-03")
    if case["initial_state"] or any(s.get("initial_state") for s in case["steps"]):
        ids.update({"CALL-04", "INIT-01"})
    if case["constants"]:
        ids.update({"CALL-05", "CONST-01"})
    if flag(case, "stateful"):
        ids.update({"STATE-01", "STATE-02"})
    for step in case["steps"]:
        if step.get("op") == "reset":
            ids.add("STATE-03")
            if step.get("states"):
                ids.update({"STATE-04", "INIT-02"})
                if step["states"].startswith("wrong"):
                    ids.add("STATE-07")
    if oracle_outcome is not None:
        err = oracle_outcome.get("error") or next(
            (s["error"] for s in oracle_outcome.get("steps", []) if "error" in s), None)
        if err is not None:
            err_id = error_catalog.classify(err, case)
            if err_id:
                ids.add(err_id)
    if case["layer"] in BUILTIN_LAYERS:
        ids.add("CELL-01")
    ids |= gradients.exercised(case)
    return sorted(ids)


UNSUPPORTED_REASONS_KEPT = 3  # per clause: the implementation's most frequent reasons for refusing
# Clauses nearly every case reaches: they do not tell one discrepancy from another, so a discrepancy's
# failing examples are not blamed on them where it names others.
UBIQUITOUS = frozenset({"CALL-01", "SHAPE-01", "SHAPE-03", "SHAPE-04", "CELL-01"})


def is_xfailed(item, xfail):
    return bool(xfail) and (item["kind"] in xfail or bool(set(item["clauses"]) & set(xfail)))


def merge_versions(oracle, impl, impl_name):
    """Both sides' package versions in one dict. Where the implementation runs another version of a
    package (its own environment: rnnconf.targets), that one is keyed "package (impl_name)"."""
    merged = dict(oracle)
    for package, version in impl.items():
        if package in merged and merged[package] != version:
            merged[f"{package} ({impl_name})"] = version
        else:
            merged[package] = version
    return merged


class MarginTally:
    """Per clause and dtype, the ratios of passing differences to their bound (compare's margins):
    the largest, and a count per decade ("-3" holds [1e-3, 1e-2); "exact" equal values; the lowest
    decade holds everything below it). The suite, the fuzzer and merged shards keep them alike."""
    LOWEST = -8

    def __init__(self):
        self.entries = {}  # clause -> dtype -> {"max": ratio, "hist": {bucket: count}}

    @classmethod
    def bucket(cls, ratio):
        if ratio <= 0:
            return "exact"
        return str(max(cls.LOWEST, min(-1, math.floor(math.log10(ratio)))))

    def add(self, clause_ids, margin, count=1):
        """`count` passing checks of `clause_ids` whose margin was `margin` ({dtype: ratio})."""
        for dtype, ratio in (margin or {}).items():
            if not isinstance(ratio, (int, float)) or not math.isfinite(ratio):
                continue
            for cid in clause_ids:
                self._merge_one(cid, dtype, ratio, {self.bucket(ratio): count})

    def merge(self, per_clause):
        """Add the "margin" entries of another tally or results.json ({clause: {dtype: entry}})."""
        for cid, by_dtype in (per_clause or {}).items():
            for dtype, entry in (by_dtype or {}).items():
                if isinstance(entry, dict) and isinstance(entry.get("max"), (int, float)):
                    self._merge_one(cid, dtype, float(entry["max"]), entry.get("hist") or {})

    def _merge_one(self, cid, dtype, ratio, hist):
        entry = self.entries.setdefault(cid, {}).setdefault(dtype, {"max": 0.0, "hist": {}})
        entry["max"] = max(entry["max"], float(ratio))
        for bucket, n in hist.items():
            entry["hist"][bucket] = entry["hist"].get(bucket, 0) + int(n)


def _empty_entry():
    return {"status": "untested", "checks": 0, "failures": 0, "unsupported": 0, "inconclusive": 0}


class Results:
    def __init__(self, implementation, oracle, seed=None, versions=None):
        self.data = {
            "implementation": implementation, "oracle": oracle, "versions": dict(versions or {}),
            "seed": seed, "examples": 0, "elapsed_s": 0.0, "time_to_first_discrepancy_s": None,
            "clauses": {cid: _empty_entry() for cid in ALL_IDS},
            "discrepancies": [],
            "deviations": [{k: d[k] for k in ("id", "clauses", "page", "oracle", "scope", "repro")}
                           for d in DEVIATIONS],
        }
        self.margins = MarginTally()
        self._start = time.monotonic()

    def record(self, clause_ids, ok=True, unsupported=False, inconclusive=False, count=1, status=None):
        """`count` checks of `clause_ids` with this result; `status` one of NOT_FAILING."""
        for cid in clause_ids:
            entry = self.data["clauses"].setdefault(cid, _empty_entry())
            entry.setdefault("inconclusive", 0)
            entry["checks"] += count
            if status is not None:
                entry[status] = entry.get(status, 0) + count
            elif unsupported:
                entry["unsupported"] += count
            elif inconclusive:
                entry["inconclusive"] += count
            elif not ok:
                entry["failures"] += count

    NOT_FAILING_EXAMPLES = 10  # per status, kept in results.json's `not_failing`

    def add_not_failing(self, status, example, count=1):
        """`count` more checks judged `status` (one of NOT_FAILING); `example` ({"clauses", "detail",
        and "test" or "config", "deviation" or "err_id"}) kept while there are few of them."""
        entry = self.data.setdefault("not_failing", {}).setdefault(status, {"checks": 0, "examples": []})
        entry["checks"] += count
        if len(entry["examples"]) < self.NOT_FAILING_EXAMPLES and example is not None:
            entry["examples"].append(example)

    def add_discrepancy(self, clauses, kind, case, detail, repro=None, **extra):
        n = len(self.data["discrepancies"]) + 1
        if self.data["time_to_first_discrepancy_s"] is None:
            self.data["time_to_first_discrepancy_s"] = round(time.monotonic() - self._start, 3)
        item = {"id": f"d-{n:04d}", "clauses": sorted(clauses), "kind": kind, "config": case,
                "detail": detail, "repro": repro}
        item.update(extra)
        self.data["discrepancies"].append(item)
        return item

    def merge_suite(self, suite):
        """Add the suite's clause report (conftest's --clause-report): per-clause counts and margins."""
        for cid, counts in suite.get("clauses", {}).items():
            failures, unsupported = counts.get("failures", 0), counts.get("unsupported", 0)
            inconclusive = counts.get("inconclusive", 0)
            named = {status: counts.get(status, 0) for status in NOT_FAILING}
            self.record([cid], ok=False, count=failures)
            self.record([cid], unsupported=True, count=unsupported)
            self.record([cid], inconclusive=True, count=inconclusive)
            for status, n in named.items():
                if n:
                    self.record([cid], status=status, count=n)
            self.record([cid], count=max(0, counts.get("checks", 0) - failures - unsupported - inconclusive
                                         - sum(named.values())))
        for t in suite.get("not_failing_tests") or []:
            self.add_not_failing(t["status"], {"source": "suite", "test": t["test"], "clauses": t["clauses"],
                                               "detail": t["detail"]})
        self.margins.merge(suite.get("margins"))
        for cid, notes in (suite.get("check_notes") or {}).items():
            self.add_check_notes(cid, notes)
        known_differences.add_rows(self.data, suite_tests=suite.get("by_design_tests") or [])

    def add_check_notes(self, clause, notes):
        """Add how the suite's tests checked the clause and how each way went (`notes`: {line:
        tests}, helpers.note_check), as results.json's `check_notes`."""
        entry = self.data["clauses"].setdefault(clause, _empty_entry())
        merged = Counter(entry.get("check_notes") or {})
        merged.update(notes)
        entry["check_notes"] = dict(sorted(merged.items()))

    def add_unsupported_reasons(self, clause, reasons):
        """Keep the most frequent of the implementation's reasons for the clause's unsupported checks
        (`reasons`: {reason: count}), as results.json's `unsupported_reasons`."""
        entry = self.data["clauses"].setdefault(clause, _empty_entry())
        merged = Counter(entry.get("unsupported_reasons") or {})
        merged.update(reasons)
        entry["unsupported_reasons"] = dict(merged.most_common(UNSUPPORTED_REASONS_KEPT))

    def merge_fuzz(self, tail, xfail=(), since=None):
        """Add a campaign's log tallies (fuzz.logs.LogTail, polled); returns the results.json dict.

        Discrepancies are deduplicated across drivers by signature and numbered in the order found.
        A failing example counts as a failure only for the clauses its discrepancy's shrunk case needs
        (less the ubiquitous ones), and as nothing for its other clauses: a failing example is never a
        pass. A failing example that no discrepancy explains fails all its clauses. An inconclusive
        example counts as inconclusive for its clauses. `fuzz_evidence` maps each clause the fuzzer
        failed to the discrepancies behind it ("unattributed" for failures no discrepancy explains).
        """
        found = sorted(tail.found, key=lambda r: r["t"])
        occurrences = dict(tail.occurrences)
        general = most_general(found)
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
            item = self.add_discrepancy(
                r["clauses"], r["kind"], r["config"], r["detail"], repro=f"repro/d-{n:04d}.py",
                occurrences=1, xfail=is_xfailed(r, xfail), side=r["side"], original=r["original"],
                mismatches=r["mismatches"], found_at=r["t"], signature=r["signature"], fingerprint=r.get("fingerprint"),
                original_detail=r.get("original_detail"), same_cause_as=sorted(r.get("same_cause_as") or {}),
                **({"found_without": r["without"]} if r.get("without") else {}))
            seen[r["signature"]] = item
            first_t = r["t"] if first_t is None else first_t
        for sig, n in occurrences.items():
            if sig in seen:
                seen[sig]["occurrences"] += n
        for (clause, unsupported), n in tail.passed.items():
            self.record([clause], ok=True, unsupported=unsupported, count=n)
        for clause, reasons in tail.unsupported_reasons.items():
            self.add_unsupported_reasons(clause, reasons)
        for clause, n in tail.inconclusive.items():
            self.record([clause], inconclusive=True, count=n)
        for (clause, status), n in tail.not_failing.items():
            self.record([clause], status=status, count=n)
        for status, examples in tail.not_failing_examples.items():
            for example in examples:
                self.add_not_failing(status, example, count=0)
            self.data.setdefault("not_failing", {}).setdefault(status, {"checks": 0, "examples": []})
            self.data["not_failing"][status]["checks"] += tail.not_failing_examples_total[status]
        known_differences.add_rows(self.data, fuzz_rows=tail.differences.values())
        self.margins.merge(tail.margins.entries)
        originals = [case_key(k["original"]) for k in found]
        evidence = {}  # clause -> ids of the discrepancies its failing examples are occurrences of
        for (clauses, fp_json, key), n in tail.failed.items():
            fp = json.loads(fp_json)
            known = next((k for k, original in zip(found, originals)
                          if original == key or (fp and judgement.explains(k["fingerprint"], fp))), None)
            blamed = set(clauses)
            if known is not None:
                blamed = (set(known["clauses"]) - UBIQUITOUS) & blamed or blamed
            self.record(sorted(blamed), ok=False, count=n)
            item = seen.get(general.get(known["signature"], known["signature"])) if known is not None else None
            for clause in blamed:
                evidence.setdefault(clause, set()).add(item["id"] if item else "unattributed")
        data = self.to_dict()
        data["fuzz_evidence"] = {clause: sorted(ids) for clause, ids in sorted(evidence.items())}
        data["examples"] = tail.examples
        if tail.conversions:
            data["conversions"] = tail.conversions  # models a converter target converted (rnnconf/converters)
        if tail.oracle_failures:
            data["oracle_failures"] = {"count": tail.oracle_failures, "examples": list(tail.oracle_failure_examples)}
        if tail.gradients:
            # The fuzzer's gradient checks apart: per clause they mix with the forward checks.
            data["gradient_checks"] = {"examples": sum(tail.gradients.values()), **dict(sorted(tail.gradients.items()))}
        if tail.skipped:
            data["skipped_refused"] = dict(sorted(tail.skipped.items()))  # fuzz.refusals
        data["time_to_first_discrepancy_s"] = (round(first_t - since, 3) if first_t is not None and since else None)
        return data

    def to_dict(self):
        deviating = clauses_with_deviations()
        for cid, by_dtype in self.margins.entries.items():
            if cid in self.data["clauses"]:
                self.data["clauses"][cid]["margin"] = {dt: {"max": float(f"{e['max']:.4g}"), "hist": dict(e["hist"])}
                                                       for dt, e in sorted(by_dtype.items())}
        for cid, entry in self.data["clauses"].items():
            judged = entry["checks"] - entry["unsupported"] - entry.get("inconclusive", 0)
            if entry["failures"]:
                entry["status"] = "fail"
            elif entry["checks"] == 0:
                entry["status"] = "untested"
            elif entry["unsupported"] == entry["checks"]:
                entry["status"] = "unsupported"
            elif judged == 0:
                entry["status"] = "inconclusive"  # checked, but nothing that was judged passed
            elif any(entry.get(status) for status in NOT_FAILING):
                entry["status"] = next(status for status in NOT_FAILING if entry.get(status))
                if entry["status"] == "oracle-deviation" and cid in deviating:
                    entry["deviations"] = deviating[cid]
            elif cid in deviating:
                entry["status"] = "oracle-deviation"
                entry["deviations"] = deviating[cid]
            else:
                entry["status"] = "pass"
        self.data["elapsed_s"] = round(time.monotonic() - self._start, 3)
        return self.data


def most_general(found):
    """signature -> the signature that stands for it: a discrepancy that another one explains (the
    same failure, needing a subset of its features: judge.explains) stands for that one."""
    fps = {r["signature"]: r.get("fingerprint") for r in found}
    out = {}
    for sig, fp in fps.items():
        covering = [(len(other["features"]), s) for s, other in fps.items()
                    if s != sig and fp and other and judgement.explains(other, fp)]
        out[sig] = min(covering)[1] if covering else sig
    return out


def _unsupported_count(entry):
    # results.json (interfaces.md) does not require the "unsupported" count; an entry without it but
    # with status "unsupported" had every check unsupported.
    if "unsupported" in entry:
        return entry["unsupported"]
    return entry.get("checks", 0) if entry.get("status") == "unsupported" else 0


def merge_shards(shards):
    """One results dict from several shards (`rnnconf check` runs, e.g. CI shards) of the same
    implementation: counts and margins summed, statuses recomputed by Results itself (so a merged
    report follows a single run's rules), every shard's failed suite tests kept (a failing clause's
    count comes from them: dropping them would leave its row without evidence)."""
    shards = [s or {} for s in shards]
    first = next((s for s in shards if s), {})
    seeds = sorted({s.get("seed") for s in shards if s.get("seed") is not None}, key=str)
    versions = {}
    for s in shards:
        versions.update(s.get("versions") or {})
    results = Results(first.get("implementation"), first.get("oracle"),
                      seed=seeds[0] if len(seeds) == 1 else (seeds or None), versions=versions)
    data = results.data

    per_clause = {}
    for s in shards:
        for cid, entry in (s.get("clauses") or {}).items():
            per_clause.setdefault(cid, []).append(entry)
    for cid, entries in per_clause.items():
        target = data["clauses"].setdefault(
            cid, {"status": "untested", "checks": 0, "failures": 0, "unsupported": 0, "inconclusive": 0})
        target["checks"] = sum(e.get("checks", 0) for e in entries)
        target["failures"] = sum(e.get("failures", 0) for e in entries)
        target["unsupported"] = sum(_unsupported_count(e) for e in entries)
        target["inconclusive"] = sum(e.get("inconclusive", 0) for e in entries)
        for status in NOT_FAILING:
            if any(e.get(status) for e in entries):
                target[status] = sum(e.get(status, 0) for e in entries)
        for entry in entries:
            results.margins.merge({cid: entry.get("margin")})
            if entry.get("unsupported_reasons"):
                results.add_unsupported_reasons(cid, entry["unsupported_reasons"])
            if entry.get("check_notes"):
                results.add_check_notes(cid, entry["check_notes"])

    for s in shards:
        for d in s.get("discrepancies") or []:
            item = dict(d)
            if d.get("id"):
                item["shard_id"] = d["id"]
            item["id"] = f"d-{len(data['discrepancies']) + 1:04d}"
            data["discrepancies"].append(item)

    for s in shards:
        for status, entry in (s.get("not_failing") or {}).items():
            for example in entry.get("examples") or []:
                results.add_not_failing(status, example, count=0)
            results.data.setdefault("not_failing", {}).setdefault(status, {"checks": 0, "examples": []})
            results.data["not_failing"][status]["checks"] += entry.get("checks", 0)
    merged = results.to_dict()
    # to_dict() stamps the wall time of this (instant) merge; the shards' own times are the real ones.
    merged["examples"] = sum(s.get("examples") or 0 for s in shards)
    if any(s.get("conversions") for s in shards):
        merged["conversions"] = sum(s.get("conversions") or 0 for s in shards)
    merged["elapsed_s"] = max((s.get("elapsed_s") or 0.0 for s in shards), default=0.0)
    firsts = [s["time_to_first_discrepancy_s"] for s in shards
              if s.get("time_to_first_discrepancy_s") is not None]
    merged["time_to_first_discrepancy_s"] = min(firsts) if firsts else None
    merged["shards"] = len(shards)
    rows = known_differences.merge_rows([s.get("known_differences") or [] for s in shards])
    if rows:
        merged["known_differences"] = rows
    gradient_checks = Counter()
    for s in shards:
        gradient_checks.update(s.get("gradient_checks") or {})
    if gradient_checks:
        merged["gradient_checks"] = dict(sorted(gradient_checks.items()))
    skipped = Counter()
    for s in shards:
        skipped.update(s.get("skipped_refused") or {})
    if skipped:
        merged["skipped_refused"] = dict(sorted(skipped.items()))
    failures = [s["oracle_failures"] for s in shards if isinstance(s.get("oracle_failures"), dict)]
    if failures:
        merged["oracle_failures"] = {"count": sum(f.get("count", 0) for f in failures),
                                     "examples": [e for f in failures for e in f.get("examples") or []][:5]}
    suites = [s["suite"] for s in shards if isinstance(s.get("suite"), dict)]
    if suites:
        # Every shard runs the whole suite: a test that failed in several shards is one failure.
        failed = {}
        for suite in suites:
            for t in suite.get("failed_tests") or []:
                if isinstance(t, dict):
                    failed.setdefault(t.get("test"), t)
        tests = [s.get("tests") for s in suites if isinstance(s.get("tests"), int)]
        merged["suite"] = {"exit": max(s.get("exit") or 0 for s in suites), "tests": max(tests, default=None),
                           "failed_tests": list(failed.values())}
    coverage = oracle_coverage.merge([s.get("oracle_coverage") for s in shards])
    if coverage:
        merged["oracle_coverage"] = coverage
    merged["root_causes"] = root_causes(merged)
    return merged


# ---- root causes -----------------------------------------------------------------------------------
def root_causes(data, xfail=()):
    """The results' root causes (docs/root-causes.md): the fuzzer's discrepancies grouped where the
    driver found two to be one bug shown elsewhere (a discrepancy's `same_cause_as`: both cases pass
    without the features they share), and the suite's failed tests that no such group accounts
    for, grouped by kind and the clauses they fail. Each has one representative discrepancy (the
    fewest features, then the first found) whose reproducer stands for it; suite groups get their
    own (`repro`, written by the CLI from `config`)."""
    items = [d for d in data.get("discrepancies") or [] if d.get("signature")]
    by_sig = {d["signature"]: d for d in items}
    parent = {sig: sig for sig in by_sig}

    def find(sig):
        while parent[sig] != sig:
            parent[sig] = parent[parent[sig]]
            sig = parent[sig]
        return sig
    for d in items:
        for other in d.get("same_cause_as") or []:
            if other in by_sig:
                parent[find(d["signature"])] = find(other)
    groups = {}
    for d in items:
        groups.setdefault(find(d["signature"]), []).append(d)
    causes = []
    for members in groups.values():
        head = min(members, key=lambda d: (len((d.get("fingerprint") or {}).get("features") or ()), d["id"]))
        shared = set.intersection(*(set((d.get("fingerprint") or {}).get("features") or ()) for d in members))
        causes.append({"kind": head["kind"], "source": "fuzz", "discrepancy": head["id"], "repro": head.get("repro"),
                       "discrepancies": [d["id"] for d in members], "features": sorted(shared),
                       "clauses": sorted({c for d in members for c in d["clauses"]}),
                       "xfail": all(d.get("xfail") for d in members),
                       "variants": [{"id": d["id"], "core": (d.get("fingerprint") or {}).get("core"),
                                     "features": (d.get("fingerprint") or {}).get("features")}
                                    for d in members if d is not head]})
    for group in suite_root_causes(data, items):
        group["xfail"] = bool(xfail) and all(c in xfail for c in group["clauses"])
        causes.append(group)
    causes.sort(key=lambda c: (c["source"] != "fuzz", c.get("discrepancy") or "", c.get("tests", [""])[0]))
    for n, cause in enumerate(causes, 1):
        cause["id"] = f"r-{n:04d}"
        if cause["source"] == "suite":
            cause["repro"] = f"repro/{cause['id']}.py" if cause.get("config") else None
            if not cause.get("config"):
                cause["no_repro"] = why_no_repro(cause["tests"], data.get("implementation"))
    return causes


def why_no_repro(tests, implementation):
    """Why a suite root cause has no standalone reproducer (none of its tests states a case), and the
    command that replays it."""
    run = "; ".join(f"pytest '{t}' --impl {implementation or 'IMPL'}" for t in tests[:3])
    if all("::test_error_direct[" in (t or "") for t in tests):
        return ("its trigger is Python code in conformance/test_errors.py (a @direct function: an argument, "
                f"method or call no case can state), not a case rnnconf replays; {run} runs it")
    return f"its test states no case to replay (a metamorphic or statistical check of its own); {run} runs it"


def suite_case(message):
    """The case a failed suite test's message replays (helpers.snippet's `case = {...}`, the
    `case = {...}` argument line pytest prints for a parametrized test, or a `Case:` in JSON), or None."""
    import ast
    head, found, rest = (message or "").partition("\ncase = ")
    if not found:
        head, found, rest = (message or "").partition("\n\nCase:\n")
        try:  # a test that judges on its own prints its case as JSON
            case = json.loads(rest.split("\n\n", 1)[0]) if found else None
        except ValueError:
            return None
        return case if isinstance(case, dict) else None
    for text in (rest.split("\nimpl, oracle = ", 1)[0], rest.split("\n", 1)[0]):
        try:
            case = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(case, dict):
            return case
    return None


_MISMATCH = re.compile(r"(?m)(?:^\s+|AssertionError: )(\w+) at step -?\d+")


def suite_kind(message):
    """The first mismatch kind a failed suite test's message states ("error at step 0 ..."), or None."""
    match = _MISMATCH.search(message or "")
    if match and match.group(1) in judgement.KIND_ORDER:
        return match.group(1)
    return "error" if suite_error_core(message) else None


# Tests that judge an error without the judge say it in their own words: "keras3 raised ValueError: ...",
# "keras3: the probe raised ...", "keras3 raised nothing on the ERR-13 trigger", "ERR-43: the
# implementation's message does not state the oracle's facts", or pytest's rewriting of
# `same_error_class(oracle_error, impl_error)` with both errors' dicts.
_RAISED = re.compile(r"\A\S+:? (?:the probe )?raised (\w+): ([^\n]*)")
_RAISED_NOTHING = re.compile(r"raised nothing on the (ERR-\d+) trigger; the oracle raises (\w+)")
_OTHER_FACTS = re.compile(r"(?:but |AssertionError: )(ERR-\d+):? the implementation's message does not state")
_ERROR_DICTS = re.compile(r"same_error_class at 0x[0-9a-f]+>\(\{'type': '(\w+)'.*?\}, \{'type': '(\w+)'(.*)")
# An error a backend op raises ("[Op:MatMul]"): where any mismatch of shapes lands, not one check's raise.
_OP_ERROR = re.compile(r"\{\{function_node|\[Op:\w+\]")


def suite_error_core(message):
    """Who raises what in a failed suite test's error, as judge._error_core says it (the
    implementation's class and message shape: one raise; an ERR path stated with other facts; the
    oracle's class where the implementation raises nothing), or None. An implementation's error
    raised by a backend op ends in " [op]": where a shape mismatch lands, not the check that misses."""
    message = message or ""
    match = _MISMATCH.search(message)
    said = message[match.end():].split("\n\n", 1)[0] if match else message
    facts = _OTHER_FACTS.search(message)
    if facts:
        return f"{facts.group(1)} raised with other facts"
    own = (re.search(r"the implementation raises (\w+): ([^\n]*)", said)
           or re.search(r"and the implementation (\w+): ([^\n]*)", said) or _RAISED.search(message.lstrip()))
    if own:
        cls, text = own.group(1), own.group(2).split("; the oracle does not", 1)[0]
    else:
        dicts = _ERROR_DICTS.search(message)
        if dicts is None:
            nothing = _RAISED_NOTHING.search(message) or re.search(r"the oracle raises (\w+):", said)
            return f"oracle raises {nothing.groups()[-1]}, the implementation nothing" if nothing else None
        cls = dicts.group(2)
        text = re.search(r"'message': (['\"])(.*?)\1|'\.\.\.()([^']*)'", dicts.group(3))
        text = (text.group(2) or text.group(4) or "") if text else ""
    op = _OP_ERROR.search(text)
    text = re.sub(r"\A.*\}\}\s*", "", text)  # TF's "{{function_node ...}}" prefix names the device, not the raise
    return f"the implementation raises {cls} ({judgement.message_shape(text)})" + (" [op]" if op else "")


def _same_raise(known, said):
    """Whether a fuzzer discrepancy's error core `known` may be the error a failed test's message
    states (`said`, suite_error_core): the same ERR path stated with other facts, nothing raised by
    both implementations, or the same class raised. Unknown (None) may be."""
    if said is None:
        return True
    paths = re.findall(r"ERR-\d+", said)
    if paths:
        return all(p in known for p in paths)
    if said.endswith("the implementation nothing") or known.endswith("the implementation nothing"):
        return said.endswith("the implementation nothing") and known.endswith("the implementation nothing")
    return _implementation_error(known) in (None, _implementation_error(said))


def _implementation_error(core):
    """The class the implementation raises in an error core (judge's or suite_error_core's), or None."""
    found = re.search(r"the implementation (?:raises )?(\w+)", core or "")
    return found.group(1) if found and found.group(1) != "nothing" else None


def own_clauses(item):
    """The clauses a discrepancy's essential features bring: those its shrunk case reaches and the
    same case without those features does not (a go_backwards bug: FLAG-03; a bug of a GRUCell:
    none, since any cell reaches CELL-03)."""
    case, features = item.get("config"), (item.get("fingerprint") or {}).get("features") or []
    if not case or not features:
        return set()
    try:
        plain = judgement.without_features(case, features)
        return (set(exercised(case)) - UBIQUITOUS) - set().union(*(exercised(c) for c in plain))
    except Exception:  # noqa: BLE001 - a case this code cannot take apart owns no clause
        return set()


def _accounts_for(d, test, case, kind, own):
    """Whether fuzzer discrepancy `d` accounts for a failed suite test (see suite_root_causes)."""
    fp = d.get("fingerprint") or {}
    if case is not None and kind is not None:
        if d["kind"] == kind and set(fp.get("features") or ()) <= set(judgement.features(case)):
            return kind != "error" or _same_raise(fp.get("core") or "", suite_error_core(test.get("message")))
        err = re.search(r"ERR-\d+", fp.get("core") or "")
        first = (test.get("message") or "").lstrip().split("\n", 2)[1:2]
        return bool(kind == "error" == d["kind"] and err and first and
                    re.search(re.escape(err.group(0)) + r"\b", first[0]))
    return bool(own & set(test.get("clauses") or ()))


def suite_root_causes(data, items):
    """Groups of the suite's failed tests that no fuzzer discrepancy accounts for. A discrepancy
    accounts for a test whose replayed case (its message's `case = {...}`) fails with the same kind
    and has every feature the discrepancy needs, or, for errors, whose message names the same
    catalogued error path as its core; and, for a test with no replayable case or kind (a
    metamorphic or statistical check), one that fails a clause the discrepancy's features bring
    (own_clauses). The suite's cases are not shrunk, so this is read off, not run. The others are
    grouped by kind and the clauses they fail (less the ubiquitous ones); each group keeps its first
    replayable case.

    Several failed tests are one root cause (suite_cause_key) where they are one raise (an error of
    the same class and message shape, or an ERR path stated with other facts), or one structure
    failing the same way under other flags (the suite's flag grids); otherwise they are grouped by
    kind and the clauses they fail (less the ubiquitous ones). Each group keeps its first replayable
    case."""
    owns = [own_clauses(d) for d in items]
    groups, group_of = [], {}  # the groups; a key -> the index of its group (joined where keys meet)
    for test in ((data.get("suite") or {}).get("failed_tests") or []):
        if not isinstance(test, dict):
            continue
        message = test.get("message") or ""
        case, kind = suite_case(message), suite_kind(message)
        if any(_accounts_for(d, test, case, kind, own) for d, own in zip(items, owns)):
            continue
        clauses = sorted(set(test.get("clauses") or ()) - UBIQUITOUS) or sorted(test.get("clauses") or ())
        keys = suite_cause_keys(test, case, kind, clauses)
        met = sorted({group_of[k] for k in keys if k in group_of})
        if not met:
            groups.append({"kind": kind or "failure", "source": "suite", "clauses": [], "tests": [], "config": None,
                           "detail": ""})
            met = [len(groups) - 1]
        group = groups[met[0]]
        for other in met[1:]:  # this test joins groups that were apart: one cause
            merged = groups[other]
            group["tests"] += merged["tests"]
            group["clauses"] = sorted(set(group["clauses"]) | set(merged["clauses"]))
            if group["config"] is None:
                group["config"], group["detail"] = merged["config"], merged["detail"]
            groups[other] = None
            group_of.update({k: met[0] for k, g in group_of.items() if g == other})
        group_of.update(dict.fromkeys(keys, met[0]))
        group["tests"].append(test.get("test"))
        group["clauses"] = sorted(set(group["clauses"]) | set(clauses))
        if group["config"] is None and case is not None:
            group["config"] = case
            group["detail"] = message.split("\n\nReproduce with:", 1)[0][:600]
    return [g for g in groups if g is not None]


def suite_cause_keys(test, case, kind, clauses):
    """What makes failed suite tests one root cause (suite_root_causes): tests that share a key are
    one. An error the implementation raises: its class and message shape (one raise, whatever the
    inputs that reach it); an ERR path stated with other facts: that path; an error the
    implementation does not raise: the ERR paths of the test (each check it lacks is its own), and
    so for an error a backend op raises (where any mismatch of shapes lands: the missing checks may
    be several). Another failure: its kind and the clauses it fails, and, with a case, its kind and
    the case's features but its flags (one structure failing under several flag sets)."""
    if kind == "error":
        core = suite_error_core(test.get("message"))
        paths = tuple(c for c in clauses if c.startswith("ERR-"))
        if core and core.endswith("[op]"):
            return [("error", core, paths)]
        if core and core.endswith("the implementation nothing"):
            return [("error", core, paths or tuple(clauses))]
        if core:
            return [("error", core)]
    keys = [(kind or "failure", tuple(clauses))]
    if case is not None and kind is not None:
        try:
            keys.append((kind, "case", tuple(f for f in judgement.features(case) if not f.startswith("flag:"))))
        except Exception:  # noqa: BLE001 - a case this code cannot read: grouped by its clauses
            pass
    return keys
