"""Root causes: a run's fuzzed discrepancies and failed suite tests grouped by what one fix would cure
(docs/root-causes.md), each with its clauses, its members and a reproducer where one can be written."""
import ast
import json
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
