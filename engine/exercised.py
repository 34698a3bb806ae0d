"""Which contract clauses a case exercises (clauses.md), on the oracle's outcome: the one place a case's
features become clause IDs, for the results, the root causes and the known differences."""
from . import error_catalog, gradients
from .cases import BUILTIN_LAYERS, flag, normalize
from .schema import FLAG_CLAUSES


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
    for name, clause in FLAG_CLAUSES.items():
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


# Clauses nearly every case reaches: they do not tell one discrepancy from another, so a discrepancy's
# failing examples are not blamed on them where it names others.
UBIQUITOUS = frozenset({"CALL-01", "SHAPE-01", "SHAPE-03", "SHAPE-04", "CELL-01"})
