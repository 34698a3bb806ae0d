"""Known differences: where an implementation departs from Keras 2 on purpose, with the upstream link
that says so. A failing check that one accounts for is judged `differs-by-design`, not `fail`.

A known-differences file has the converters' known-issues format (rnnconf.engine.known_issues.parse_known_issue:
MATCH [URL] [NOTE] [# comment]); the comment lines right above an entry describe it. Its entries
must say how a failure is recognised, so a clause ID or kind alone is refused (--xfail takes those):

    fingerprint: KIND | CORE | FEATURES [| CHECK ...]   URL  NOTE
        KIND and CORE: fnmatch patterns of the failure's fingerprint (judge.fingerprint); FEATURES:
        comma-separated patterns, each matching a feature of the failing case (may be empty).
        Each CHECK must hold too:
        `without FEATURE`: the case with every feature matching FEATURE taken away
        (judge.without_feature) is run again on both sides and does not show this failure: it
        passes, or fails for another bug (another kind and core, at other results: shows_failure).
        So a failure with a second, real cause at the same results still fails, and a second bug
        elsewhere neither hides behind the entry (the counterfactual shows it) nor blocks it.
        `like without FEATURE`: the implementation's results are the oracle's for the case without
        the feature (Keras 3's GRU layer computes what the oracle's RNN(GRUCell) computes).
        `like in reverse cell order`: on a stack, the implementation's results are the oracle's
        for the case whose given states (initial, reset) come last cell first, its returned and read
        states reversed per cell the same way (tfjs' convention): the arrays, however nested, judged
        like any results (by distribution under dropout).
        `same leaves`: the results hold the oracle's arrays (same shapes, in order, and, outside
        dropout, the same values), only nested otherwise. Where the case without the `without`
        feature fails on values (another bug, which that case shows), shapes and order decide.
    signature: SIGNATURE   URL  NOTE
        one exact discrepancy signature (judge.signature).
    unsupported: FEATURE   URL  NOTE
        a feature the implementation refuses: such checks are `unsupported` (nothing was compared,
        so no verdict); the entry only documents that the refusal is intended, with its link.

Every entry needs a URL: a known difference is one its upstream documents.
"""
import fnmatch
import os
import re

from rnnconf.engine.known_issues import parse_known_issue
from .exercised import UBIQUITOUS, exercised
from . import compare
from .cases import flag, is_stack, is_stochastic
from .features import features, without_feature
from .signatures import signature

KINDS = ("crash", "timeout", "error", "structure", "shape", "dtype", "value")
STATUS = "differs-by-design"
FIELDS = ("fingerprint", "signature", "unsupported")
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known-differences")


class KnownDifferencesError(ValueError):
    """A file that cannot be read or an entry that cannot be understood: FILE:LINE: what is wrong."""


def target_file(name):
    """The known-differences file shipped for target or implementation `name`, or None."""
    path = os.path.join(HERE, f"{name}.txt")
    return path if name and os.path.isfile(path) else None


def read(path):
    """The entries of a known-differences file, each a dict: field, kind/core/features/without (for
    fingerprint entries), entry (the MATCH text), url, note, description, file, line."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise KnownDifferencesError(f"{path}: cannot read: {e}") from None
    entries, comments = [], []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            comments = []
            continue
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
            continue
        where = f"{path}:{number}"
        field = next((f for f in FIELDS if stripped.startswith(f + ":")), None)
        if field is None:
            raise KnownDifferencesError(
                f"{where}: {stripped.split()[0]!r} does not say how to recognise the difference: an entry starts "
                f"with `fingerprint:`, `signature:` or `unsupported:` (a clause ID or kind alone is --xfail's)")
        # parse_known_issue knows signature and fingerprint lines; an unsupported line splits like a signature.
        parsed = parse_known_issue("signature:" + stripped[len(field) + 1:] if field == "unsupported" else stripped)
        # Entries right below one another share the comment above the first.
        description = " ".join(comments) or (entries[-1]["description"] if entries and entries[-1]["line"] == number - 1
                                             else "")
        entry = {"field": field, "entry": parsed["entry"], "url": parsed["url"], "note": parsed["note"],
                 "description": description, "file": path, "line": number}
        comments = []
        if not entry["url"]:
            raise KnownDifferencesError(f"{where}: no link: a known difference needs the upstream URL that "
                                        "documents it (an http(s):// word after the match)")
        if not entry["entry"]:
            raise KnownDifferencesError(f"{where}: `{field}:` with nothing to match")
        if field == "fingerprint":
            entry.update(_fingerprint_pattern(entry["entry"], where))
        entries.append(entry)
    return entries


def _fingerprint_pattern(text, where):
    parts = [p.strip() for p in text.split(" | ")]
    if len(parts) < 2:
        raise KnownDifferencesError(f"{where}: a fingerprint entry is KIND | CORE [| FEATURES] [| CHECK ...]; "
                                    f"got {text!r}")
    without, same_leaves, like_without, reverse_cell_order = None, False, None, False
    for check in parts[3:]:
        if check == REVERSE_CELL_ORDER:
            reverse_cell_order = True
        elif check.startswith("like without"):
            like_without = check[len("like without"):].strip()
            if not like_without:
                raise KnownDifferencesError(f"{where}: `like without` needs a feature pattern, e.g. "
                                            "`like without layer:[GL]*`")
        elif check.startswith("without"):
            without = check[len("without"):].strip()
            if not without:
                raise KnownDifferencesError(f"{where}: `without` needs a feature pattern, e.g. "
                                            "`without *.activation=hard_sigmoid`")
        elif check == "same leaves":
            same_leaves = True
        else:
            raise KnownDifferencesError(f"{where}: {check!r} is no check: after KIND | CORE | FEATURES come "
                                        f"`without FEATURE`, `like without FEATURE`, `{REVERSE_CELL_ORDER}` or "
                                        "`same leaves`")
    kind, core = parts[0], parts[1]
    if not any(fnmatch.fnmatchcase(k, kind) for k in KINDS):
        raise KnownDifferencesError(f"{where}: kind {kind!r} matches none of {', '.join(KINDS)}")
    if not core:
        raise KnownDifferencesError(f"{where}: empty CORE (use * for any)")
    features = [f.strip() for f in parts[2].split(",") if f.strip()] if len(parts) > 2 else []
    return {"kind": kind, "core": core, "features": features, "without": without, "same_leaves": same_leaves,
            "like_without": like_without, "reverse_cell_order": reverse_cell_order}


REVERSE_CELL_ORDER = "like in reverse cell order"


def in_reverse_cell_order(case):
    """The stack `case` with its given states in reverse cell order, or None where it is no stack."""
    return dict(case, reverse_cell_order=True) if is_stack(case) else None


def states_reversed(outcome, case):
    """The oracle's `outcome` of a stack with each result's per-cell states reversed: a call's
    states after its output (with return_state), a read of layer.states."""
    if not outcome or "steps" not in outcome:
        return outcome
    steps = []
    for step, result in zip(case["steps"], outcome["steps"]):
        states = result.get("result") if isinstance(result, dict) else None
        if isinstance(states, (list, tuple)):
            op = step.get("op", "call")
            if op == "states":
                result = dict(result, result=list(states)[::-1])
            elif op == "call" and flag(case, "return_state"):
                result = dict(result, result=[states[0], *list(states[1:])[::-1]])
        steps.append(result)
    return dict(outcome, steps=steps)


def matches(entry, fp):
    """Whether failure fingerprint `fp` has the entry's kind, core and features (no rerun)."""
    if not fp:
        return False
    if entry["field"] == "signature":
        return signature(fp) == entry["entry"]
    if entry["field"] != "fingerprint":
        return False
    return (fnmatch.fnmatchcase(fp["kind"], entry["kind"]) and fnmatch.fnmatchcase(fp["core"], entry["core"])
            and all(any(fnmatch.fnmatchcase(f, pattern) for f in fp["features"]) for pattern in entry["features"]))


def counterfactual(case, pattern):
    """`case` with every feature that matches `pattern` taken away (judge.without_feature, its first
    alternative), or None where some cannot be."""
    hits = [f for f in features(case) if fnmatch.fnmatchcase(f, pattern)]
    if not hits:
        return None
    for feature in hits:
        alternatives = without_feature(case, feature)
        if not alternatives:
            return None
        case = alternatives[0]
    return case


def same_leaves(expected, actual, case, values=True):
    """Whether the implementation's results hold the oracle's arrays in the same order (shapes; and,
    with `values`, their values, judged by compare, outside dropout), however nested."""
    renested = renested_like(expected, actual)
    if renested is None:
        return False
    if is_stochastic(case) or not values:
        return True
    return not [m for m in compare.compare(expected, renested, case) if m.kind != "inconclusive"]


def renested_like(expected, actual):
    """The implementation's outcome `actual` with each step's result nested as the oracle's, where
    they hold arrays of the same shapes in the same order; None where they do not."""
    if not expected or not actual or "steps" not in expected or "steps" not in actual:
        return None
    if len(expected["steps"]) != len(actual["steps"]):
        return None
    renested = dict(actual, steps=[])
    for exp, act in zip(expected["steps"], actual["steps"]):
        if ("result" in exp) != ("result" in act):
            return None
        if exp.get("result") is None:  # an error, or a step that returns nothing (reset): compare judges it
            renested["steps"].append(act)
            continue
        exp_leaves = [a for _, a in compare._leaves(exp["result"])]
        act_leaves = [a for _, a in compare._leaves(act["result"])]
        if [a.shape for a in exp_leaves] != [a.shape for a in act_leaves]:
            return None
        renested["steps"].append(dict(act, result=_renest(exp["result"], iter(act_leaves))))
    return renested


def _renest(template, leaves):
    if isinstance(template, (list, tuple)):
        return [_renest(t, leaves) for t in template]
    return next(leaves)


def recognise(entries, case, fp, passes, outcomes=None, mismatches=(), like=None):
    """The entry that accounts for failure `fp` of `case`, or None. `passes(case)` runs another case
    on both sides and says whether it passes (True/False) or gives its judgement (judge.judge's, or
    the fuzzer's verdict): an entry with `without` accounts for the failure only where the case
    without that feature does not show it (shows_failure; `mismatches`: the failure's own).
    `outcomes`: (oracle's, implementation's), for `same leaves`. `like(case)`: whether the
    implementation's outcome is the oracle's for another case, for `like without`; `like(case,
    reorder)` whether it holds the arrays of the oracle's outcome of that case, reordered by
    `reorder(outcome, case)`, for `like in reverse cell order`."""
    for entry in entries:
        if not matches(entry, fp):
            continue
        if fp.get("trigger") and not fits_direct_trigger(entry, fp["trigger"]):
            continue
        if entry.get("reverse_cell_order"):
            other = in_reverse_cell_order(case)
            if other is None or like is None or not like(other, states_reversed):
                continue
        if entry.get("like_without"):
            other = counterfactual(case, entry["like_without"])
            if other is None or like is None or not like(other):
                continue
        judged = None  # the judgement of the case without the feature
        if entry.get("without"):
            other = counterfactual(case, entry["without"])
            if other is None or passes is None:
                continue
            judged = passes(other)
            if shows_failure(judged, fp, mismatches):
                continue
        if entry.get("same_leaves") and not (outcomes and (
                same_leaves(*outcomes, case)
                # Values another bug changes (the case without the feature shows it) leave the arrays
                # and their order to tell the nesting by.
                or (_values_differ(judged) and same_leaves(*outcomes, case, values=False)))):
            continue
        return entry
    return None


def fits_direct_trigger(entry, err_id):
    """Whether `entry` may account for a failure of a direct error trigger of path `err_id`
    (judge.direct_failure: calls, not a case). Such a failure has no case to rerun, so an entry with
    a check (`without`, `like without`, `same leaves`) cannot be confirmed and does not account for
    it; and its features (the trigger's API) say little, so the entry's core must name the path
    itself, as `oracle raises ERR-18, the implementation *` does. A signature entry is exact."""
    if entry["field"] == "signature":
        return True
    if entry.get("without") or entry.get("like_without") or entry.get("same_leaves") or entry.get("reverse_cell_order"):
        return False
    return re.search(rf"(?<![\w-]){re.escape(err_id)}(?![\w])", entry["core"]) is not None


def _values_differ(judged):
    """Whether a judgement (judge.judge's or a fuzzer verdict) fails on values."""
    return isinstance(judged, dict) and any(_place(m)[0] == "value" for m in judged.get("mismatches") or ())


def _place(m):
    """(kind, step, path) of a mismatch: compare.Mismatch, or its dict in a fuzzer's verdict."""
    get = m.get if isinstance(m, dict) else lambda k: getattr(m, k, None)
    return get("kind"), get("step"), get("path")


def shows_failure(other, fp, mismatches=()):
    """Whether the case without a known difference's feature still shows failure `fp`: `other` is
    whether it passes, or its judgement. It does where it fails the same way (kind and core), or
    differs where the failure's own `mismatches` do (the same kind, step and result); where it cannot
    be told (unsupported, inconclusive, only a bool that says it fails, or it stopped at an error
    before those results), it does. Another error than the failure's own, or a difference at other
    results, is another bug's: that bug is the counterfactual's to report (it
    fails there whatever the entry says), and no reason to keep this failure."""
    if isinstance(other, bool) or other is None:
        return not other
    status = other.get("status") or ("pass" if other.get("ok") else "fail" if other.get("kind") else "unknown")
    if status in ("unsupported", "inconclusive", "unknown"):
        return True
    if status != "fail":
        return False  # passes, or a difference judged not failing
    theirs = other.get("fingerprint") or {}
    same_core = theirs.get("core", "").removesuffix(" (on a reused layer)") == fp["core"]
    if theirs.get("kind") == fp["kind"] and same_core:
        return True
    if fp["kind"] == "error":
        return False  # an error is told by who raises what (its core): another one is another bug's
    places = {_place(m) for m in mismatches if _place(m)[0] != "inconclusive"}
    their_places = {_place(m) for m in other.get("mismatches") or ()}
    # Results the counterfactual never produced (it stopped at an error first) cannot be told apart.
    stopped = [step for kind, step, _ in their_places if kind in ERRORS and step is not None]
    if not places or (stopped and min(stopped) <= max(step for _, step, _ in places if step is not None)):
        return True
    return bool(places & their_places)


ERRORS = ("crash", "timeout", "error")


def clauses_of(entry, case, clauses):
    """Which of `clauses` (those a case reaches) a check the entry accounts for counts as
    differs-by-design: the ones the difference's feature brings (reached with it, not without it),
    else all but the ubiquitous ones. Like a failing example, it counts nothing for the others."""
    feature = entry.get("without") or entry.get("like_without")
    other = counterfactual(case, feature) if feature else None
    brought = set(clauses) - set(exercised(other)) - UBIQUITOUS if other is not None else set()
    return sorted(brought or (set(clauses) - UBIQUITOUS) or set(clauses))


def as_difference(entry):
    """What a judgement, a results row and the report carry of an entry."""
    return {k: entry.get(k) for k in ("field", "entry", "url", "note", "description", "file", "line")}


def by_design(j, case, entries, passes, outcomes=None, like=None):
    """Judgement `j` as `differs-by-design` where a known difference accounts for its failure, else `j`."""
    if not entries or j.get("status") != "fail":
        return j
    entry = recognise(entries, case, j.get("fingerprint"), passes, outcomes, j.get("mismatches") or (), like)
    if entry is None:
        return j
    return dict(j, status=STATUS, difference=as_difference(entry))


def documented_unsupported(entries, reasons):
    """The `unsupported:` entries whose feature one of the unsupported `reasons` names ({reason: count})."""
    return [e for e in entries if e["field"] == "unsupported"
            and any(f"lacks {e['entry']}" in reason or reason.startswith(e["entry"]) for reason in reasons)]


# ---- results.json's "known_differences" -----------------------------------------------------------------
_KEYS = ("field", "entry", "url", "note", "description", "file", "line")


def _row(data, d):
    """The row of known difference `d` in data["known_differences"], made where missing."""
    rows = data.setdefault("known_differences", [])
    row = next((r for r in rows if (r.get("file"), r.get("line")) == (d.get("file"), d.get("line"))), None)
    if row is None:
        row = {**{k: d.get(k) for k in _KEYS}, "suite_tests": [], "examples": 0, "clauses": [], "case": None,
               "kind": d.get("kind")}
        rows.append(row)
    return row


def add_rows(data, suite_tests=(), fuzz_rows=()):
    """Record in data["known_differences"] what each known difference accounted for: the suite's tests
    (conftest's by_design_tests) and the fuzzer's examples (fuzz.logs.LogTail.differences)."""
    for t in suite_tests:
        for d in t.get("differences") or []:
            row = _row(data, d)
            if t["test"] not in row["suite_tests"]:
                row["suite_tests"].append(t["test"])
            row["clauses"] = sorted(set(row["clauses"]) | set(t.get("clauses") or []))
            row["kind"] = row["kind"] or d.get("kind")
    for r in fuzz_rows:
        row = _row(data, r)
        row["examples"] += r.get("examples", 0)
        row["clauses"] = sorted(set(row["clauses"]) | set(r.get("clauses") or []))
        row["case"] = row["case"] or r.get("case")
        row["kind"] = row["kind"] or (r.get("fingerprint") or {}).get("kind")
        row["fingerprint"] = row.get("fingerprint") or r.get("fingerprint")


def annotate(data, entries):
    """Every entry of the file in data["known_differences"], with its `status`: `matched` (it accounted
    for failing checks), `documents unsupported` (an `unsupported:` entry whose feature the
    implementation refused in this run: those clauses stay unsupported) or `not seen` (nothing in this
    run reached it: no verdict either way)."""
    for entry in entries:
        _row(data, entry)
    for row in data.get("known_differences") or []:
        if row["field"] == "unsupported":
            row["clauses"] = sorted(cid for cid, c in (data.get("clauses") or {}).items()
                                    if documented_unsupported([row], c.get("unsupported_reasons") or {}))
            row["status"] = "documents unsupported" if row["clauses"] else "not seen"
        else:
            row["status"] = "matched" if row["suite_tests"] or row["examples"] else "not seen"
    return data.get("known_differences", [])


def merge_rows(per_shard):
    """The known_differences rows of several shards, one per entry, counts summed."""
    data = {}
    for rows in per_shard:
        for r in rows:
            row = _row(data, r)
            row["suite_tests"] += [t for t in r.get("suite_tests") or [] if t not in row["suite_tests"]]
            row["examples"] += r.get("examples", 0)
            row["clauses"] = sorted(set(row["clauses"]) | set(r.get("clauses") or []))
            row["case"] = row["case"] or r.get("case")
            if r.get("status") and row.get("status") != "matched":
                row["status"] = r["status"]
    return data.get("known_differences", [])
