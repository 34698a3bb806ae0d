"""Known-issue files (--xfail, the converters' known-issues, and the line format of the known differences):
one entry a line (a clause ID, a discrepancy kind, a `signature:` or `fingerprint:` line, with its URL and
note), and how a run's discrepancies and suite failures are matched against them."""
import os
import re
import sys

from rnnconf.conformance.spec.clauses import ALL_IDS

KINDS = ("value", "shape", "dtype", "structure", "error", "crash", "timeout")


class KnownIssuesError(ValueError):
    """A known-issues file that cannot be read: one line saying which and why."""


NO_LONGER_REPRODUCES = "no longer reproduces (fixed upstream?)"


def parse_known_issue(line):
    """One line of an --xfail (known-issues) file as a dict, or None for a blank or comment line.

    MATCH [URL] [NOTE] [# comment], where MATCH is a clause ID, a discrepancy kind,
    `signature: <signature>` or `fingerprint: <kind> | <core>`; the first http(s):// word is the URL.
    " -- " also starts the NOTE (a signature line without a URL needs it)."""
    text = _strip_comment(line).strip()
    if not text:
        return None
    text, _, note = text.partition(" -- ")
    url, m = None, re.search(r"(?:^|\s)(https?://\S+)", text)
    if m:
        url, rest = m.group(1), text[m.end():].strip()
        text, note = text[:m.start()].strip(), " ".join(p for p in (rest, note.strip()) if p)
    for field in ("signature", "fingerprint"):
        if text.startswith(field + ":"):
            return {"entry": text[len(field) + 1:].strip(), "field": field, "url": url, "note": note.strip() or None}
    entry, _, rest = text.partition(" ")
    note = " ".join(p for p in (rest.strip(), note.strip()) if p)
    return {"entry": entry, "field": "plain", "url": url, "note": note or None}


def _strip_comment(line):
    """The line before its # comment. A URL's #fragment is no comment; nor, on a signature or
    fingerprint line, is a # that does not stand alone (error messages' shapes hold "#_")."""
    exact = line.lstrip().startswith(("signature:", "fingerprint:"))
    for m in re.finditer("#", line):
        i = m.start()
        if re.match(r"https?://", line[len(re.sub(r"\S*$", "", line[:i])):]):
            continue
        if exact and not (i == 0 or line[i - 1].isspace() and (i + 1 == len(line) or line[i + 1].isspace())):
            continue
        return line[:i]
    return line


def read_known_issues(path, warn=True):
    """Every entry of an --xfail file (parse_known_issue), warning about plain entries that are
    neither a clause ID nor a discrepancy kind."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise KnownIssuesError(f"cannot read --xfail file {path}: {e}") from None
    entries = [e for e in map(parse_known_issue, lines) if e]
    for e in entries if warn else ():
        if e["field"] == "plain" and e["entry"] not in ALL_IDS and e["entry"] not in KINDS:
            print(f"rnnconf: warning: --xfail entry {e['entry']!r} is neither a clause ID nor a discrepancy kind",
                  file=sys.stderr)
    return entries


def read_xfail(path):
    """The plain entries of an --xfail file (clause IDs or discrepancy kinds): what the suite and the
    campaign accept by themselves; signature and fingerprint entries are applied to the results."""
    return [e["entry"] for e in read_known_issues(path) if e["field"] == "plain"]


def _known_issue_matches(entry, d):
    if entry["field"] == "signature":
        return d.get("signature") == entry["entry"]
    if entry["field"] == "fingerprint":
        fp = d.get("fingerprint")
        if isinstance(fp, dict):
            return f"{fp.get('kind')} | {fp.get('core')}" == entry["entry"]
        return " | ".join((d.get("signature") or "").split(" | ")[:2]) == entry["entry"]
    return entry["entry"] == d.get("kind") or entry["entry"] in (d.get("clauses") or [])


def apply_known_issues(data, known, suite=None):
    """Mark the discrepancies a known issue accounts for (xfail, with the issue) and record every
    entry in data["known_issues"] with what it matched, or NO_LONGER_REPRODUCES."""
    suite_clauses = (suite or {}).get("clauses") or {}
    rows = []
    for entry in known:
        hits = [d for d in data["discrepancies"] if _known_issue_matches(entry, d)]
        for d in hits:
            d["xfail"] = True
            d.setdefault("known_issue", {k: entry[k] for k in ("entry", "field", "url", "note")})
        in_suite = entry["field"] == "plain" and bool(suite_clauses.get(entry["entry"], {}).get("failures"))
        rows.append({**entry, "discrepancies": [d["id"] for d in hits], "suite": in_suite,
                     "status": "matched" if hits or in_suite else NO_LONGER_REPRODUCES})
    data["known_issues"] = rows
    return rows


def plain_xfail_file(out, xfail):
    """The plain entries written where the suite reads them (its --xfail takes one ID a line)."""
    path = os.path.join(out, "xfail.plain.txt")
    with open(path, "w") as f:
        f.write("".join(f"{e}\n" for e in xfail))
    return path
