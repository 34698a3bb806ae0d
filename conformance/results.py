"""results.json as data (interfaces.md section 3): clause accounting shared by suite and fuzzer.

`exercised(case, oracle_outcome)` says which clause IDs a case reaches; `Results` counts checks and
failures per clause, keeps discrepancies, and `to_dict()` gives the results.json object. Statuses:
fail (a check failed), oracle-deviation (passes, and the oracle contradicts the page there: see
deviations.py), pass, unsupported (every check needed a feature the implementation lacks),
inconclusive (checked, but every check was either unsupported or too sensitive to judge: see
compare.RECHECK_CEILING), untested.

Each clause entry may also carry "margin": per dtype, how close the passing values came to their
bound (MarginTally), so a reader sees whether a pass was comfortable.
"""
import math
import time

from . import error_catalog
from .cases import BUILTIN_LAYERS, flag, normalize
from .clauses import ALL_IDS
from .deviations import DEVIATIONS, clauses_with_deviations

_CUSTOM_VARIANT_CLAUSES = {
    "minimal": ["CELL-01", "CELL-03", "CELL-07", "CELL-09", "EX-01"],
    "multi_state": ["CELL-01", "CELL-04", "CELL-06"],
    "multi_no_out": ["CELL-01", "CELL-04", "CELL-07"],
    "hd_state": ["CELL-05", "CELL-06", "SHAPE-01"],
    "init_state": ["CELL-08"],
    "constants": ["CELL-02", "CONST-01"],
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
    return sorted(ids)


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
            "deviations": [{k: d[k] for k in ("id", "clauses", "page", "oracle", "repro")} for d in DEVIATIONS],
        }
        self.margins = MarginTally()
        self._start = time.monotonic()

    def record(self, clause_ids, ok=True, unsupported=False, inconclusive=False, count=1):
        """`count` checks of `clause_ids` with this result."""
        for cid in clause_ids:
            entry = self.data["clauses"].setdefault(cid, _empty_entry())
            entry.setdefault("inconclusive", 0)
            entry["checks"] += count
            if unsupported:
                entry["unsupported"] += count
            elif inconclusive:
                entry["inconclusive"] += count
            elif not ok:
                entry["failures"] += count

    def add_discrepancy(self, clauses, kind, case, detail, repro=None, **extra):
        n = len(self.data["discrepancies"]) + 1
        if self.data["time_to_first_discrepancy_s"] is None:
            self.data["time_to_first_discrepancy_s"] = round(time.monotonic() - self._start, 3)
        item = {"id": f"d-{n:04d}", "clauses": sorted(clauses), "kind": kind, "config": case,
                "detail": detail, "repro": repro}
        item.update(extra)
        self.data["discrepancies"].append(item)
        return item

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
            elif cid in deviating:
                entry["status"] = "oracle-deviation"
                entry["deviations"] = deviating[cid]
            else:
                entry["status"] = "pass"
        self.data["elapsed_s"] = round(time.monotonic() - self._start, 3)
        return self.data
