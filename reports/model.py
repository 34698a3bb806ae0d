"""From a results.json dict (possibly empty, partial or merged) to what the templates show.

Nothing here decides a clause's status: that is conformance.results.Results' job (statuses come from
the dict, or from conformance.results.merge_shards for a dict that lacks them). This module only fills in defaults,
groups clauses as clauses.md does, and collects what each discrepancy section needs.
"""
import json
import re
from pathlib import Path

from conformance.clauses import CLAUSES, GROUPS
from conformance.judge import NOT_FAILING, message_shape

from conformance.results import merge_shards

# judge.NOT_FAILING's statuses (differ from the oracle, never fail) sit between unsupported and pass.
STATUSES = ("fail", "inconclusive", "unsupported", *NOT_FAILING, "pass", "untested")
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
    recomputed = merge_shards([results])["clauses"]
    fixed = {cid: dict(e, status=e.get("status") or recomputed[cid]["status"]) for cid, e in clauses.items()}
    return dict(results, clauses=fixed)


def clause_rows(results):
    """[(group key, title, [row, ...]), ...] in clauses.md's order; every known ID gets a row."""
    results = _complete_statuses(results)
    entries = results.get("clauses") or {}
    touched, by_suite = {}, {}
    for d in discrepancy_ids(results):
        for cid in d["clauses"]:
            touched.setdefault(cid, []).append(d["id"])
    known_ids = {d["id"] for d in discrepancy_ids(results)}
    for cid, ids in (results.get("fuzz_evidence") or {}).items():  # the fuzzer's failing examples
        for did in ids:
            if did in known_ids and did not in touched.get(cid, []):
                touched.setdefault(cid, []).append(did)
    for g in suite_groups(results):
        for cid in g["clauses"]:
            by_suite.setdefault(cid, []).append(g["id"])
    by_design = {}  # clause -> anchors of the known differences that accounted for its checks
    for k in known_difference_rows(results):
        if k.get("status") == "matched":
            for cid in k.get("clauses") or []:
                by_design.setdefault(cid, []).append(f"kd-{k.get('line')}")

    def row(cid):
        entry = entries.get(cid) or {}
        status = entry.get("status", "untested")
        return {"id": cid, "text": CLAUSES.get(cid, {}).get("text", "(not in the clause catalogue)"),
                "status": status, "checks": entry.get("checks", 0),
                "failures": entry.get("failures", 0), "unsupported": entry.get("unsupported", 0),
                "deviations": entry.get("deviations") or [], "discrepancies": touched.get(cid, []),
                "not_failing": {s: entry[s] for s in NOT_FAILING if entry.get(s)},
                "unsupported_reasons": list((entry.get("unsupported_reasons") or {}).items()),
                "check_notes": list((entry.get("check_notes") or {}).items()),
                "suite_groups": by_suite.get(cid, []), "differences": by_design.get(cid, []),
                # Failures that no recorded item names: linked to a note that says so.
                "unattributed": status == "fail" and cid not in touched and cid not in by_suite}

    groups = [(key, group["title"], [row(cid) for cid in group["ids"]]) for key, group in GROUPS.items()]
    unknown = [cid for cid in entries if cid not in CLAUSES]
    if unknown:  # IDs from a newer catalogue: shown, never dropped
        groups.append(("OTHER", "IDs not in this catalogue", [row(cid) for cid in sorted(unknown)]))
    return groups


def discrepancy_ids(results):
    """[{"id", "clauses"}] of the discrepancies, with the id every view and link uses."""
    return [{"id": str(d.get("id") or f"d-{i:04d}"), "clauses": list(d.get("clauses") or [])}
            for i, d in enumerate(results.get("discrepancies") or [], 1)]


# ---- the conformance suite's failed tests ---------------------------------------------------------
# The suite records each failed test's pytest report (its last 3000 characters): either the message
# alone (pytest.fail without a traceback) or a traceback whose `E` lines hold the assertion's message.
_RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failed|Failure)|Failed):\s?")
_REPLAY_MARKERS = (("Reproduce with:", "Reproduce with"), ("\n\nCase:\n", "Case"))
_SENTENCE = re.compile(r"(?<=[.:;])\s|\n")  # where message_shape cuts a message
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
MAX_LINES, MAX_LINE_CHARS = 10, 300


def _indent(line):
    return len(line) - len(line.lstrip())


def _assertion_text(message):
    """(text, from_traceback): the assertion's message out of a pytest traceback (its `E` lines
    without the prefix, the exception class and pytest's own `assert ...` introspection), or the
    message as it is when it holds no traceback."""
    lines = [line[1:] for line in message.splitlines() if line == "E" or line.startswith("E ")]
    if not lines:
        return message, False
    start = next((i for i, line in enumerate(lines) if _RAISED.match(line.strip())), None)
    if start is None:  # the record was cut inside the message: keep what is left of it
        base = min((_indent(line) for line in lines if line.strip()), default=0)
        kept = []
        for line in lines:
            if line.strip() and _indent(line) <= base and line.strip().startswith(("assert ", "+")):
                break
            kept.append(line[base:])
        return "\n".join(kept), True
    # pytest indents a multi-line message's continuation lines two spaces deeper than its first.
    base = _indent(lines[start])
    kept = [_RAISED.sub("", lines[start].strip(), count=1)]
    for line in lines[start + 1:]:
        if line.strip() and _indent(line) <= base:
            break
        kept.append(line[base + 2:])
    return "\n".join(kept), True


def split_message(message):
    """A failed test's message as {"what", "replay", "replay_label", "traceback"}: what differed,
    and the snippet after "Reproduce with:" (or the case printed after "Case:"), if any."""
    text, traceback = _assertion_text(str(message or ""))
    for marker, label in _REPLAY_MARKERS:
        if marker in text:
            what, _, replay = text.partition(marker)
            replay = "\n".join(line.rstrip() for line in replay.strip("\n").splitlines()).strip()
            return {"what": what.strip(), "replay": replay or None, "replay_label": label,
                    "traceback": traceback}
    return {"what": text.strip(), "replay": None, "replay_label": None, "traceback": traceback}


def trim(text, max_lines=MAX_LINES, max_chars=MAX_LINE_CHARS):
    """(text cut to `max_lines` lines of at most `max_chars` characters, whether anything was cut)."""
    lines = text.splitlines()
    kept = [line if len(line) <= max_chars else line[:max_chars] + " …" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        kept.append(f"… ({len(lines) - max_lines} more lines)")
    return "\n".join(kept), kept != lines


def failure_pattern(what):
    """What a failure message says once its values are blanked: judge.message_shape (numbers, quoted
    names, shapes) applied to every sentence, not only the first, and repeated until nested shapes
    are blanked too; object addresses are blanked first, and a first line that only introduces the
    others is left out. Failures with one pattern are one group."""
    lines = [line for line in what.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].strip().endswith(":"):  # "keras3 differs from tf_keras:" says nothing
        lines = lines[1:]
    shapes = []
    for sentence in _SENTENCE.split(_ADDRESS.sub("0x0", "\n".join(lines))):
        if not sentence.strip():
            continue
        shape = sentence
        for _ in range(8):  # each pass blanks the innermost brackets left: a fixpoint within a few
            again = message_shape(shape)
            if again == shape:
                break
            shape = again
        shape = shape.replace("-_", "_")  # a sign is a value too
        if shape and (not shapes or shapes[-1] != shape):
            shapes.append(shape)
    return " ".join(shapes)


def _headline(what):
    """The line that says what differed: the first, unless it only introduces the lines below it
    ("keras3 differs from tf_keras:")."""
    lines = [line.strip() for line in what.splitlines() if line.strip()] or [""]
    line = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"


def suite_failures(results):
    """The suite's failed tests, each with its message split and trimmed for display."""
    out = []
    for t in (results.get("suite") or {}).get("failed_tests") or []:
        if not isinstance(t, dict):
            continue
        message = str(t.get("message") or "")
        parts = split_message(message)
        what, cut = trim(parts["what"] or "(no message recorded)")
        test = str(t.get("test") or "(unnamed test)")
        module, _, name = test.rpartition("::")
        out.append({"test": test, "name": name or test,
                    "classname": module.removesuffix(".py").replace("/", ".") or "conformance",
                    "clauses": [str(c) for c in t.get("clauses") or []], "what": what,
                    "first_line": _headline(parts["what"]),
                    "replay": parts["replay"], "replay_label": parts["replay_label"],
                    # The whole record stays available where the display left something out.
                    "full": message if cut or parts["traceback"] else None,
                    "pattern": failure_pattern(parts["what"])})
    return out


def suite_groups(results):
    """The suite's failed tests grouped by failure_pattern: one root cause seen by many tests is one
    group. Largest first (ties in the suite's order); ids suite-01, suite-02, ...; a test's own id
    is its group's plus its place in it."""
    groups = {}
    for t in suite_failures(results):
        groups.setdefault(t["pattern"], []).append(t)
    ordered = sorted(groups.values(), key=len, reverse=True)  # sorted() is stable: ties keep order
    width = max(2, len(str(len(ordered))))
    out = []
    for i, tests in enumerate(ordered, 1):
        gid = f"suite-{i:0{width}d}"
        for j, t in enumerate(tests, 1):
            t["id"] = f"{gid}-{j}"
            t["group"] = gid
        clauses = sorted({c for t in tests for c in t["clauses"]}, key=_clause_order)
        out.append({"id": gid, "pattern": tests[0]["pattern"], "tests": tests, "clauses": clauses,
                    "what": tests[0]["what"], "first_line": tests[0]["first_line"]})
    return out


_ORDER = {cid: i for i, cid in enumerate(cid for g in GROUPS.values() for cid in g["ids"])}


def _clause_order(cid):
    return (_ORDER.get(cid, len(_ORDER)), cid)


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
    root_of = {}  # discrepancy id -> its root cause's id and representative, where it has company
    for cause in results.get("root_causes") or []:
        if len(cause.get("discrepancies") or []) > 1:
            for did in cause["discrepancies"]:
                root_of[did] = {"id": cause.get("id"), "head": cause.get("discrepancy"),
                                "others": [x for x in cause["discrepancies"] if x != did]}
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
            "occurrences": d.get("occurrences"), "root_cause": root_of.get(d.get("id")),
            "known_issue": d.get("known_issue") if isinstance(d.get("known_issue"), dict) else None,
            # One converted model on several runtimes (rnnconf/converters/onnx_runtimes.py): whose difference.
            "attribution": d.get("attribution"),
            "runtimes": [(r, v.get("shows"), v.get("line")) for r, v in (d.get("runtimes") or {}).items()],
        })
    return views


def known_difference_rows(results):
    """The known-differences file's entries as the run recorded them (results["known_differences"]):
    those that accounted for failing checks first, then those documenting an unsupported feature,
    then those nothing in the run reached."""
    order = {"matched": 0, "documents unsupported": 1}
    rows = [r for r in results.get("known_differences") or [] if isinstance(r, dict)]
    return sorted(rows, key=lambda r: order.get(r.get("status"), 2))


def not_failing_views(results):
    """[{"status", "checks", "examples": [{"where", "clauses", "detail", "why", "config"}]}] per status of
    judge.NOT_FAILING that the run judged at least once (results.json `not_failing`)."""
    out = []
    recorded = results.get("not_failing") or {}
    for status in NOT_FAILING:
        entry = recorded.get(status) or {}
        if not entry.get("checks"):
            continue
        examples = []
        for e in entry.get("examples") or []:
            if not isinstance(e, dict):
                continue
            examples.append({"where": e.get("test") or "fuzzer example", "clauses": e.get("clauses") or [],
                             "detail": str(e.get("detail") or ""), "why": e.get("why"),
                             "config": _pretty(e["config"]) if e.get("config") is not None else None})
        out.append({"status": status, "checks": entry["checks"], "examples": examples})
    return out


def known_issue_rows(results):
    """The --xfail file's entries as the run recorded them (results["known_issues"]): matched ones
    first, then those that matched nothing (flagged as no longer reproducing)."""
    rows = [r for r in results.get("known_issues") or [] if isinstance(r, dict)]
    return sorted(rows, key=lambda r: r.get("status") != "matched")


def _plural(n, one, many):
    return f"{n} {one if n == 1 else many}"


def failure_counts(results):
    """What failed, counted as the header states it: failing clauses (less those whose only evidence
    is discrepancies accepted by --xfail), distinct discrepancies found (not xfailed) and accepted,
    failed suite tests and their groups."""
    discrepancies = results.get("discrepancies") or []
    found = [d for d in discrepancies if not d.get("xfail")]
    tests = [t for t in (results.get("suite") or {}).get("failed_tests") or [] if isinstance(t, dict)]
    evidenced = {cid for d in found for cid in d.get("clauses") or []}
    evidenced |= {cid for t in tests for cid in t.get("clauses") or []}
    accepted = {cid for d in discrepancies if d.get("xfail") for cid in d.get("clauses") or []} - evidenced
    clauses = results.get("clauses") or {}
    failing = [cid for cid, e in clauses.items() if e.get("failures") and cid not in accepted]
    causes = results.get("root_causes")
    return {"clauses": len(failing), "discrepancies": len(found), "xfailed": len(discrepancies) - len(found),
            "tests": len(tests), "groups": len(suite_groups(results)),
            # conformance.results.root_causes: one per bug, its disguises and unexplained suite failures included
            "root_causes": None if causes is None else sum(1 for c in causes if not c.get("xfail"))}


def verdict(results):
    """(css class, words) for the header: on a failure, what failed counted (see failure_counts)."""
    n = failure_counts(results)
    if n["discrepancies"] or n["tests"] or n["clauses"]:
        words = [_plural(n["clauses"], "failing clause", "failing clauses")]
        if n["root_causes"]:
            words.append(_plural(n["root_causes"], "root cause", "root causes"))
        if n["discrepancies"]:
            words.append(_plural(n["discrepancies"], "discrepancy", "discrepancies"))
        if n["tests"]:
            words.append(f"{_plural(n['tests'], 'suite failure', 'suite failures')} "
                         f"in {_plural(n['groups'], 'group', 'groups')}")
        return "fail", " · ".join(words)
    clauses = results.get("clauses") or {}
    if not any(e.get("checks") for e in clauses.values()):
        return "untested", "no checks recorded"
    inconclusive = [cid for cid, e in clauses.items() if e.get("status") == "inconclusive"]
    if inconclusive:  # nothing failed, but these clauses were not judged: no pass
        return "inconclusive", _plural(len(inconclusive), "inconclusive clause", "inconclusive clauses")
    by_design = [cid for cid, e in clauses.items() if e.get("status") == "differs-by-design"]
    extra = []
    if n["xfailed"]:  # all of them accepted by --xfail, as the exit status says
        extra.append(f"{n['xfailed']} known discrepanc{'y' if n['xfailed'] == 1 else 'ies'}, xfail")
    if by_design:  # known differences of the implementation: no failure, and said so
        extra.append(_plural(len(by_design), "clause differs by design", "clauses differ by design"))
    return "pass", "pass" + (f" ({'; '.join(extra)})" if extra else "")


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
        "missing": missing, "counts": failure_counts(results), "suite": _suite_facts(results.get("suite")),
        "oracle_failures": _oracle_failures(results.get("oracle_failures")),
        "conversions": results.get("conversions"),
        "skipped_refused": {str(k): v for k, v in (results.get("skipped_refused") or {}).items()
                            if isinstance(v, int) and v > 0},
    }


def _oracle_failures(entry):
    """{"count", "first"} of the examples the oracle crashed or hung on, or None."""
    if not isinstance(entry, dict) or not entry.get("count"):
        return None
    examples = [e for e in entry.get("examples") or [] if isinstance(e, dict)]
    return {"count": entry["count"], "first": str(examples[0].get("detail", "")) if examples else ""}


def _suite_facts(suite):
    """"N tests, M failed" of the suite stage, or None where the run has no suite record."""
    if not isinstance(suite, dict):
        return None
    failed = len([t for t in suite.get("failed_tests") or [] if isinstance(t, dict)])
    tests = suite.get("tests")
    return (f"{tests} tests, {failed} failed" if isinstance(tests, int) else f"{failed} failed tests")


def oracle_coverage_view(results):
    """What the "Oracle coverage" section shows (results.json's `oracle_coverage`), or None: the
    contract's files and the others apart, each with its figures; the unreached raises, line ranges
    and branches, each with its reason (conformance.oracle_coverage.UNREACHABLE) or as a gap."""
    data = results.get("oracle_coverage")
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return None

    def unreached(files):
        raises, ranges, branches = [], [], []
        for f in files:
            raises += [dict(r, file=f["file"]) for r in f.get("raises") or [] if not r.get("reached")]
            ranges += [dict(r, file=f["file"]) for r in f.get("missing_ranges") or []]
            branches += [dict(b, file=f["file"]) for b in f.get("missing_branches") or []]
        return raises, ranges, branches

    raises, ranges, branches = unreached(data["files"])
    gaps = sum(1 for item in raises + ranges + branches if item.get("category") == "gap")
    return {"contract": data.get("contract") or {}, "outside": data.get("outside") or {},
            "files": data["files"], "outside_files": data.get("outside_files") or [],
            "processes": data.get("processes"), "categories": data.get("categories") or {},
            "raises_all": [dict(r, file=f["file"]) for f in data["files"] for r in f.get("raises") or []],
            "unreached_raises": raises, "missing_ranges": ranges, "missing_branches": branches, "gaps": gaps}
