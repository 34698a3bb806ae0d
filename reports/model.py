"""From a results.json dict (possibly empty, partial or merged) to what the templates show.

Nothing here decides a clause's status: that is conformance.results.Results' job (statuses come from
the dict, or from reports.merge for a dict that lacks them). This module only fills in defaults,
groups clauses as clauses.md does, and collects what each discrepancy section needs.
"""
import json
from pathlib import Path

from conformance.clauses import CLAUSES, GROUPS

from .merge import merge

STATUSES = ("fail", "inconclusive", "unsupported", "oracle-deviation", "pass", "untested")
REQUIRED_KEYS = ("implementation", "oracle", "versions", "seed", "examples", "elapsed_s",
                 "time_to_first_discrepancy_s", "clauses", "discrepancies")


def _pretty(value, indent="", width=88):
    """JSON, indented, but anything that fits on a line stays on one (masks, shapes, small dicts)."""
    flat = json.dumps(value, sort_keys=True, default=str)
    scalar_list = isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)
    if len(indent) + len(flat) <= width or not isinstance(value, (dict, list)) or not value or scalar_list:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(str(k))}: {_pretty(v, inner, width).lstrip()}" for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    items = [inner + _pretty(v, inner, width) for v in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]"


def _complete_statuses(results):
    """The results with a status on every clause entry; statuses are recomputed only when missing."""
    clauses = results.get("clauses") or {}
    if all("status" in e for e in clauses.values()):
        return results
    recomputed = merge([results])["clauses"]
    fixed = {cid: dict(e, status=e.get("status") or recomputed[cid]["status"]) for cid, e in clauses.items()}
    return dict(results, clauses=fixed)


def clause_rows(results):
    """[(group key, title, [row, ...]), ...] in clauses.md's order; every known ID gets a row."""
    results = _complete_statuses(results)
    entries = results.get("clauses") or {}
    touched = {}
    for d in results.get("discrepancies") or []:
        for cid in d.get("clauses") or []:
            touched.setdefault(cid, []).append(d.get("id"))

    def row(cid):
        entry = entries.get(cid) or {}
        return {"id": cid, "text": CLAUSES.get(cid, {}).get("text", "(not in the clause catalogue)"),
                "status": entry.get("status", "untested"), "checks": entry.get("checks", 0),
                "failures": entry.get("failures", 0), "unsupported": entry.get("unsupported", 0),
                "deviations": entry.get("deviations") or [], "discrepancies": touched.get(cid, [])}

    groups = [(key, group["title"], [row(cid) for cid in group["ids"]]) for key, group in GROUPS.items()]
    unknown = [cid for cid in entries if cid not in CLAUSES]
    if unknown:  # IDs from a newer catalogue: shown, never dropped
        groups.append(("OTHER", "IDs not in this catalogue", [row(cid) for cid in sorted(unknown)]))
    return groups


def _error_text(err):
    if not err:
        return "no error"
    if isinstance(err, dict):
        return f"{err.get('type', 'Error')}: {err.get('message', '')}"
    return str(err)


def primary_mismatch(d):
    """The mismatch the discrepancy's detail describes: the fuzzer keeps compare()'s Mismatch dicts
    under "mismatches" and names the discrepancy after the first one of its kind."""
    mismatches = [m for m in d.get("mismatches") or [] if isinstance(m, dict)]
    return next((m for m in mismatches if m.get("kind") == d.get("kind")), mismatches[0] if mismatches else {})


def stats_of(d):
    """Numbers and values of the discrepancy: its own "stats", else its primary mismatch's."""
    return d.get("stats") or primary_mismatch(d).get("stats") or {}


def max_abs_of(d):
    """The largest absolute error over the discrepancy and all its mismatches; None if not numeric."""
    values = [(m.get("stats") or {}).get("max_abs") for m in d.get("mismatches") or [] if isinstance(m, dict)]
    values.append((d.get("stats") or {}).get("max_abs"))
    values = [v for v in values if isinstance(v, (int, float))]
    return max(values) if values else None


def _sides(d):
    """(expected, actual, are_errors) shown side by side, or None when the discrepancy has none."""
    stats = stats_of(d)
    expected = stats.get("expected", d.get("expected"))
    actual = stats.get("actual", d.get("actual"))
    if expected is None and actual is None:
        return None
    if d.get("kind") in ("error", "crash") or isinstance(expected, dict) or isinstance(actual, dict):
        return {"expected": _error_text(expected), "actual": _error_text(actual), "errors": True}
    return {"expected": _pretty(expected), "actual": _pretty(actual), "errors": False}


def _repro_code(d, out_dir):
    path = d.get("repro")
    if path and out_dir is not None:
        root = Path(out_dir).resolve()
        file = (root / path).resolve()
        if file.is_relative_to(root) and file.is_file():  # only reproducers inside the report's folder
            return file.read_text(errors="replace")
    return d.get("repro_code")


def discrepancy_views(results, out_dir=None):
    views = []
    for d in results.get("discrepancies") or []:
        stats, primary = stats_of(d), primary_mismatch(d)
        index = stats.get("index")
        step = d.get("step", primary.get("step"))
        original = d.get("original")
        views.append({
            "id": str(d.get("id") or f"d-{len(views) + 1:04d}"), "kind": d.get("kind", "?"),
            "clauses": d.get("clauses") or [], "detail": d.get("detail", ""),
            "config": _pretty(d.get("config")) if d.get("config") is not None else None,
            "original": _pretty(original) if original is not None and original != d.get("config") else None,
            "max_abs": max_abs_of(d), "max_rel": stats.get("max_rel"),
            "index": None if index is None else json.dumps(index, default=str),
            "where": " ".join(str(x) for x in (
                f"step {step}" if isinstance(step, int) and step >= 0 else None,
                d.get("path", primary.get("path"))) if x),
            "mismatches": [m for m in d.get("mismatches") or [] if isinstance(m, dict)],
            "sides": _sides(d), "repro": d.get("repro"), "code": _repro_code(d, out_dir),
            "xfail": bool(d.get("xfail")), "oracle_side": d.get("side") == "oracle",
            "occurrences": d.get("occurrences"),
        })
    return views


def verdict(results):
    """(css class, words) for the header."""
    discrepancies = results.get("discrepancies") or []
    found = [d for d in discrepancies if not d.get("xfail")]
    if found:
        return "fail", f"{len(found)} discrepanc{'y' if len(found) == 1 else 'ies'}"
    clauses = results.get("clauses") or {}
    accepted = {cid for d in discrepancies for cid in d.get("clauses") or []}
    failing = [cid for cid, e in clauses.items() if e.get("failures") and cid not in accepted]
    if failing:
        return "fail", f"{len(failing)} failing clause{'s' if len(failing) != 1 else ''}"
    if not any(e.get("checks") for e in clauses.values()):
        return "untested", "no checks recorded"
    inconclusive = [cid for cid, e in clauses.items() if e.get("status") == "inconclusive"]
    if inconclusive:  # nothing failed, but these clauses were not judged: no pass
        return "inconclusive", f"{len(inconclusive)} inconclusive clause{'s' if len(inconclusive) != 1 else ''}"
    if discrepancies:  # all of them accepted by --xfail, as the exit status says
        return "pass", f"pass ({len(discrepancies)} known discrepanc{'y' if len(discrepancies) == 1 else 'ies'}, xfail)"
    return "pass", "pass"


def status_counts(groups):
    counts = dict.fromkeys(STATUSES, 0)
    for _, _, rows in groups:
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def header(results):
    missing = [k for k in REQUIRED_KEYS if k not in results]
    return {
        "implementation": results.get("implementation") or "unknown implementation",
        "oracle": results.get("oracle") or "unknown oracle",
        "versions": results.get("versions") or {}, "seed": results.get("seed"),
        "examples": results.get("examples") or 0, "elapsed_s": results.get("elapsed_s"),
        "first_s": results.get("time_to_first_discrepancy_s"), "shards": results.get("shards"),
        "missing": missing,
    }
