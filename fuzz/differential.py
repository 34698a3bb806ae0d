"""One differential example: run a case on the oracle and the implementation, compare, account.

The verdict is plain data (JSON-able), so the campaign can log it, dedupe it and hand it to the
reproducer writer. Comparison is conformance.compare.compare, clause accounting is
conformance.results.exercised, "the implementation lacks a feature" is
conformance.capabilities.missing_feature: nothing here re-implements them.
"""
import time

from conformance import capabilities
from conformance import compare as cmp
from conformance.cases import normalize, is_stochastic
from conformance.results import exercised

KIND_ORDER = ("crash", "timeout", "error", "structure", "shape", "dtype", "value")
# Clauses nearly every case reaches: they do not tell one discrepancy from another.
UBIQUITOUS = frozenset({"CALL-01", "SHAPE-01", "SHAPE-03", "SHAPE-04", "CELL-01"})


def check(case, oracle, impl, fresh=False):
    """Run `case` on both Workers (on new layers if `fresh`); the verdict dict (see `verdict`), with
    the seconds each side and the comparison took under "seconds"."""
    failed_oracle, failed_impl = oracle.submit(case, fresh), impl.submit(case, fresh)
    oracle_result = failed_oracle or oracle.collect()
    impl_result = failed_impl or impl.collect()
    seconds = {"oracle": _seconds(oracle_result), "impl": _seconds(impl_result)}
    if oracle_result[0] != "ok":
        # The oracle itself crashed or hung: reported, but it says nothing about the implementation.
        return verdict(case, exercised(case), kind=oracle_result[0], side="oracle",
                       detail=f"oracle {oracle_result[0]}: {oracle_result[1]}", seconds=seconds)
    expected = oracle_result[1]
    clauses = exercised(case, expected)
    oracle_error = bool(expected.get("error") or any("error" in s for s in expected["steps"]))
    if impl_result[0] != "ok":
        return verdict(case, clauses, kind=impl_result[0], detail=impl_result[1], oracle_error=oracle_error,
                       seconds=seconds)
    actual = impl_result[1]
    full = normalize(case)
    recheck = None
    if full["dtype"] == "float32":
        def recheck():
            result = oracle.run(dict(case, dtype="float64"))
            return result[1] if result[0] == "ok" else None
    start = time.perf_counter()
    mismatches = cmp.compare(expected, actual, full, recheck_f64=recheck, structural_only=is_stochastic(full))
    seconds["compare"] = time.perf_counter() - start
    if not mismatches:
        return verdict(case, clauses, oracle_error=oracle_error, seconds=seconds)
    impl_error = actual.get("error") or next((s["error"] for s in actual["steps"] if "error" in s), None)
    if capabilities.missing_feature(impl.available.__contains__, full, impl_error):
        return verdict(case, clauses, unsupported=True, detail=_error_line(impl_error), oracle_error=oracle_error,
                       seconds=seconds)
    kind = min((m.kind for m in mismatches), key=KIND_ORDER.index)
    first = next(m for m in mismatches if m.kind == kind)
    where = first.path if first.step < 0 or first.path.startswith("step") else f"step {first.step} {first.path}"
    detail = f"{where}: {first.detail}"
    return verdict(case, clauses, kind=kind, detail=detail, mismatches=[_jsonable(m.to_dict()) for m in mismatches],
                   oracle_error=oracle_error, seconds=seconds)


def variants(case, count):
    """`case` and count-1 cases that differ from it only in their seed (so in weights, inputs and
    initial states): same structure, so the workers reuse the layers they built for `case`."""
    base = case.get("seed", 0)
    return [case] + [dict(case, seed=(base * 7919 + i * 104729) % 2**31) for i in range(1, count)]


def _seconds(result):
    return result[2] if result[0] == "ok" and len(result) > 2 else None


def verdict(case, clauses, kind=None, detail="", mismatches=(), unsupported=False, side="implementation",
            oracle_error=False, seconds=None):
    """ok / unsupported / kind (a discrepancy), with the clause ids the case reached; `oracle_error`
    says the oracle stopped at an error (later steps of a stateful run would add nothing)."""
    return {"case": case, "clauses": sorted(clauses), "ok": kind is None, "unsupported": unsupported,
            "kind": kind, "detail": detail, "mismatches": list(mismatches), "side": side, "seconds": seconds or {},
            "oracle_error": oracle_error}


def signature(v):
    """What makes two (shrunk) discrepancies the same: kind, distinguishing clauses, structure (a string,
    so it survives the JSON log)."""
    return " | ".join([v["kind"], ",".join(sorted(set(v["clauses"]) - UBIQUITOUS)), structure(v["case"])])


def explains(known, v):
    """A known discrepancy explains a new one of its kind that reaches all its distinguishing clauses."""
    return known["kind"] == v["kind"] and set(known["clauses"]) - UBIQUITOUS <= set(v["clauses"])


def structure(case):
    """The case's shape of configuration, sizes and numbers left out."""
    case = normalize(case)
    cells = tuple((c["kind"], c.get("variant"), tuple(sorted((k, str(v)) for k, v in c.items()
                                                             if k not in ("kind", "variant", "units"))))
                  for c in case["cells"])
    steps = tuple((s.get("op", "call"), str(s.get("states")), bool(s.get("initial_state")), "batch" in s)
                  for s in case["steps"])
    return repr((case["layer"], cells, case["cell_list"], tuple(sorted(case["flags"].items())), case["dtype"],
                 case["mask"] is not None, bool(case["initial_state"]), bool(case["constants"]),
                 case["training"], bool(case["embedding"]), steps))


def _error_line(error):
    return f"{error['type']}: {error['message'][:200]}"


def _jsonable(x):
    import numpy as np
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x
