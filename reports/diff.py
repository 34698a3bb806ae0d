"""What changed between two results.json runs: the baseline (OLD) and this run (NEW).

Plain data in (two results dicts), plain data out:

  {"new_failures":   {"clauses": [...], "discrepancies": [...], "suite_tests": [...]},
   "fixed":          {...same keys...},
   "still_failing":  {...same keys...},
   "versions_changed": {"keras": {"old": "3.15.1", "new": "3.16.0"}, ...}}

A clause fails where its status is "fail"; it is fixed only where this run judged it again (a clause
left untested or absent now is neither fixed nor failing). Discrepancies are the same failure when both carry a
"signature" and the signatures are equal; otherwise (an older run without signatures) when their
kind and sorted clauses are equal. Suite tests are matched by test id.
"""

SECTIONS = ("new_failures", "fixed", "still_failing")
PARTS = ("clauses", "discrepancies", "suite_tests")


def _failing_clauses(results):
    return {cid: c.get("status") for cid, c in (results.get("clauses") or {}).items()
            if isinstance(c, dict)}


def _suite_tests(results):
    suite = results.get("suite")
    tests = (suite.get("failed_tests") or []) if isinstance(suite, dict) else []
    return {t["test"]: t for t in tests if isinstance(t, dict) and t.get("test")}


def same_discrepancy(a, b):
    """Whether a and b are the same failure (see the module docstring)."""
    if a.get("signature") and b.get("signature"):
        return a["signature"] == b["signature"]
    return a.get("kind") == b.get("kind") and sorted(a.get("clauses") or []) == sorted(b.get("clauses") or [])


def _discrepancy_view(d):
    view = {k: d[k] for k in ("id", "kind", "clauses", "signature", "detail", "xfail") if k in d}
    view.setdefault("clauses", [])
    return view


def diff(old, new):
    """The diff of two results dicts (see the module docstring)."""
    old, new = old or {}, new or {}
    out = {s: {p: [] for p in PARTS} for s in SECTIONS}

    was, now = _failing_clauses(old), _failing_clauses(new)
    for cid in sorted(set(was) | set(now)):
        before, after = was.get(cid), now.get(cid)
        row = {"id": cid, "old": before, "new": after}
        if after == "fail":
            out["still_failing" if before == "fail" else "new_failures"]["clauses"].append(row)
        elif before == "fail" and after not in (None, "untested"):
            out["fixed"]["clauses"].append(row)

    old_items = list(old.get("discrepancies") or [])
    new_items = list(new.get("discrepancies") or [])
    for d in new_items:
        seen = any(same_discrepancy(d, o) for o in old_items)
        out["still_failing" if seen else "new_failures"]["discrepancies"].append(_discrepancy_view(d))
    for o in old_items:
        if not any(same_discrepancy(o, d) for d in new_items):
            out["fixed"]["discrepancies"].append(_discrepancy_view(o))

    old_tests, new_tests = _suite_tests(old), _suite_tests(new)
    for test in sorted(set(old_tests) | set(new_tests)):
        t = new_tests.get(test) or old_tests[test]
        row = {"test": test, "clauses": list(t.get("clauses") or [])}
        if test in new_tests:
            out["still_failing" if test in old_tests else "new_failures"]["suite_tests"].append(row)
        else:
            out["fixed"]["suite_tests"].append(row)

    old_v, new_v = old.get("versions") or {}, new.get("versions") or {}
    out["versions_changed"] = {k: {"old": old_v.get(k), "new": new_v.get(k)}
                               for k in sorted(set(old_v) | set(new_v)) if old_v.get(k) != new_v.get(k)}
    return out


def gating(result, accepted=None):
    """The new failures that fail a CI gate: those `accepted` (a predicate on a discrepancy view, a
    clause ID or a suite test row) does not accept, plus every discrepancy not marked xfail.
    Returns a dict of the same three parts."""
    accepted = accepted or (lambda item: False)
    new = result["new_failures"]
    items = [d for d in new["discrepancies"] if not d.get("xfail") and not accepted(d)]
    tests = [t for t in new["suite_tests"] if not accepted(t)]
    # A clause that newly fails only through accepted (xfail) discrepancies is not new to gate on.
    explained = {}
    for d in new["discrepancies"] + result["still_failing"]["discrepancies"]:
        for cid in d["clauses"]:
            explained.setdefault(cid, []).append(bool(d.get("xfail")) or accepted(d))
    clauses = [c for c in new["clauses"] if not accepted(c["id"])
               and not (explained.get(c["id"]) and all(explained[c["id"]]))]
    return {"clauses": clauses, "discrepancies": items, "suite_tests": tests}


def count(parts):
    return sum(len(parts[p]) for p in PARTS)


def summary(result, gate=None):
    """A few lines of text: counts per section, then the new failures and the version changes."""
    gate = gate if gate is not None else gating(result)
    lines = []
    for section in SECTIONS:
        parts = result[section]
        lines.append(f"{section.replace('_', ' ')}: {len(parts['clauses'])} clause(s), "
                     f"{len(parts['discrepancies'])} discrepancy(ies), {len(parts['suite_tests'])} suite test(s)")
    for c in gate["clauses"]:
        lines.append(f"  new: clause {c['id']} {c['old'] or 'absent'} -> {c['new']}")
    for d in gate["discrepancies"]:
        lines.append(f"  new: {d.get('id', '?')} {d.get('kind')} in {', '.join(d['clauses'])}"
                     + (f": {d['detail'][:120]}" if d.get("detail") else ""))
    for t in gate["suite_tests"]:
        lines.append(f"  new: suite test {t['test']}")
    for name, v in result["versions_changed"].items():
        lines.append(f"version {name}: {v['old']} -> {v['new']}")
    lines.append(f"{count(gate)} new failure(s) against the baseline")
    return "\n".join(lines)
