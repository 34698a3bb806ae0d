"""Root causes: a run's fuzzed discrepancies and failed suite tests grouped by what one fix would cure
(docs/root-causes.md), each with its clauses, its members and a reproducer where one can be written."""
import re

from . import judge as judgement
from .exercised import UBIQUITOUS, exercised


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
    return causes


def suite_case(message):
    """The case a failed suite test's message replays (helpers.snippet's `case = {...}`), or None."""
    import ast
    head, found, rest = (message or "").partition("\ncase = ")
    if not found:
        return None
    try:
        return ast.literal_eval(rest.split("\nimpl, oracle = ", 1)[0])
    except (ValueError, SyntaxError):
        return None


def suite_kind(message):
    """The first mismatch kind a failed suite test's message states ("error at step 0 ..."), or None."""
    match = re.search(r"\A[^\n]*:\n\s+(\w+) at step", (message or "").lstrip())
    return match.group(1) if match and match.group(1) in judgement.KIND_ORDER else None


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
            return True
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
    replayable case."""
    owns = [own_clauses(d) for d in items]
    groups = {}
    for test in ((data.get("suite") or {}).get("failed_tests") or []):
        if not isinstance(test, dict):
            continue
        message = test.get("message") or ""
        case, kind = suite_case(message), suite_kind(message)
        if any(_accounts_for(d, test, case, kind, own) for d, own in zip(items, owns)):
            continue
        clauses = sorted(set(test.get("clauses") or ()) - UBIQUITOUS) or sorted(test.get("clauses") or ())
        group = groups.setdefault((kind or "failure", tuple(clauses)), {
            "kind": kind or "failure", "source": "suite", "clauses": clauses, "tests": [], "config": None,
            "detail": ""})
        group["tests"].append(test.get("test"))
        if group["config"] is None and case is not None:
            group["config"] = case
            group["detail"] = message.split("\n\nReproduce with:", 1)[0][:600]
    return list(groups.values())
