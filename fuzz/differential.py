"""One differential example: run a case on the oracle and the implementation, compare, account.

The verdict is plain data (JSON-able), so the campaign can log it, dedupe it and hand it to the
reproducer writer. Comparison is conformance.compare.compare, clause accounting is
conformance.results.exercised: nothing here re-implements either.
"""
import re

from conformance import compare as cmp
from conformance.cases import normalize, is_stochastic
from conformance.namespaces import OPTIONAL
from conformance.results import exercised

KIND_ORDER = ("crash", "timeout", "error", "structure", "shape", "dtype", "value")
# Clauses nearly every case reaches: they do not tell one discrepancy from another.
UBIQUITOUS = frozenset({"CALL-01", "SHAPE-01", "SHAPE-03", "SHAPE-04", "CELL-01"})
_UNKNOWN_ARG = re.compile(r"unexpected keyword argument '(\w+)'|not understood:?'?,? ?'(\w+)'|"
                          r"[Uu]nrecognized keyword arguments?[^']*'(\w+)'")


def check(case, oracle, impl):
    """Run `case` on both Workers; the verdict dict (see `verdict`)."""
    failed_oracle, failed_impl = oracle.submit(case), impl.submit(case)
    oracle_result = failed_oracle or oracle.collect()
    impl_result = failed_impl or impl.collect()
    if oracle_result[0] != "ok":
        # The oracle itself crashed or hung: reported, but it says nothing about the implementation.
        return verdict(case, exercised(case), kind=oracle_result[0], side="oracle",
                       detail=f"oracle {oracle_result[0]}: {oracle_result[1]}")
    expected = oracle_result[1]
    clauses = exercised(case, expected)
    oracle_error = bool(expected.get("error") or any("error" in s for s in expected["steps"]))
    if impl_result[0] != "ok":
        return verdict(case, clauses, kind=impl_result[0], detail=impl_result[1], oracle_error=oracle_error)
    actual = impl_result[1]
    full = normalize(case)
    recheck = None
    if full["dtype"] == "float32":
        def recheck():
            status, payload = oracle.run(dict(case, dtype="float64"))
            return payload if status == "ok" else None
    mismatches = cmp.compare(expected, actual, full, recheck_f64=recheck, structural_only=is_stochastic(full))
    if not mismatches:
        return verdict(case, clauses, oracle_error=oracle_error)
    if unsupported(expected, actual, full):
        return verdict(case, clauses, unsupported=True, detail=_error_line(actual["error"]), oracle_error=oracle_error)
    kind = min((m.kind for m in mismatches), key=KIND_ORDER.index)
    first = next(m for m in mismatches if m.kind == kind)
    where = first.path if first.step < 0 or first.path.startswith("step") else f"step {first.step} {first.path}"
    detail = f"{where}: {first.detail}"
    return verdict(case, clauses, kind=kind, detail=detail, mismatches=[_jsonable(m.to_dict()) for m in mismatches],
                   oracle_error=oracle_error)


def verdict(case, clauses, kind=None, detail="", mismatches=(), unsupported=False, side="implementation",
            oracle_error=False):
    """ok / unsupported / kind (a discrepancy), with the clause ids the case reached; `oracle_error`
    says the oracle stopped at an error (later steps of a stateful run would add nothing)."""
    return {"case": case, "clauses": sorted(clauses), "ok": kind is None, "unsupported": unsupported,
            "kind": kind, "detail": detail, "mismatches": list(mismatches), "side": side,
            "oracle_error": oracle_error}


def unsupported(expected, actual, case):
    """The implementation refused a feature it does not have (interfaces.md section 1): a missing
    optional name, or a constructor argument it does not know, where the oracle built fine."""
    error = actual.get("error")
    if expected.get("error") or not error or error.get("stage") != "construct":
        return False
    message = error.get("message", "")
    if error["type"] == "AttributeError":
        return any(f"'{name}'" in message for name in OPTIONAL)
    if error["type"] in ("TypeError", "ValueError"):
        names = set(case["flags"]) | {k for cell in case["cells"] for k in cell}
        if case["flags"].get("stateful"):
            names.add("batch_input_shape")  # how cases.py gives a stateful layer its batch size
        for match in _UNKNOWN_ARG.finditer(message):
            if set(filter(None, match.groups())) & names:
                return True
    return False


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
