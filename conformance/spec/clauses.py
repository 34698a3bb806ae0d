"""The contract's clause IDs and texts, read from the spec snapshot in conformance/spec/.

`CLAUSES` maps every ID of clauses.md (CELL-01 ...), of error-paths.md (ERR-01 ... ERR-47) and of
gradients.md (GRAD-01 ... GRAD-10) to {"group", "text"}; `GROUPS` keeps their grouping and order for
reports (the gradients' group last).
"""
import re
from pathlib import Path

SPEC_DIR = Path(__file__).parent
_CLAUSE = re.compile(r"^- ([A-Z]+-\d\d) (.*)$")
_GROUP = re.compile(r"^## ([A-Z]+): (.*)$")
_ERR_ROW = re.compile(r"^\| (ERR-\d\d) \| (\w+) \| (\w+) \| (.*?) \| (.*) \|$")


def _load():
    clauses, groups = {}, {}
    _load_clause_list("clauses.md", clauses, groups)
    _load_errors(clauses, groups)
    _load_clause_list("gradients.md", clauses, groups)
    return clauses, groups


def _load_clause_list(name, clauses, groups):
    """The `## GROUP: title` sections and `- ID text` clauses of one spec file (ERR rows aside)."""
    group = None
    lines = (SPEC_DIR / name).read_text().splitlines()
    for i, line in enumerate(lines):
        if m := _GROUP.match(line):
            group = m.group(1)
            groups[group] = {"title": m.group(2), "ids": []}
        elif (m := _CLAUSE.match(line)) and group and group != "ERR":
            text = m.group(2)
            for cont in lines[i + 1:]:  # wrapped continuation lines
                if not cont.startswith("  "):
                    break
                text += " " + cont.strip()
            clauses[m.group(1)] = {"group": group, "text": text}
            groups[group]["ids"].append(m.group(1))


def _load_errors(clauses, groups):
    groups.setdefault("ERR", {"title": "error paths beyond the page", "ids": []})
    for line in (SPEC_DIR / "error-paths.md").read_text().splitlines():
        if m := _ERR_ROW.match(line):
            err_id, kind, cls, message, trigger = m.groups()
            if err_id not in groups["ERR"]["ids"]:
                groups["ERR"]["ids"].append(err_id)
            clauses[err_id] = {"group": "ERR", "text": f"{cls}: {message.strip('` ')}", "class": cls,
                               "kind": kind, "trigger": trigger}


CLAUSES, GROUPS = _load()
ALL_IDS = list(CLAUSES)
