"""The oracle's raise statements matched to the error catalogue (error-paths.md): which `raise` of tf_keras is
which ERR path, for the oracle coverage report (oracle_coverage.py)."""
import ast
import re
from rnnconf.conformance.spec.clauses import _ERR_ROW, SPEC_DIR


# ---- raise statements and the error catalogue ----------------------------------------------------
_TEMPLATE_FIELD = re.compile(r"\{[^}]*\}|…|\.\.\.")
_SAME_AS = re.compile(r"^same (?:text )?as (ERR-\d\d)")
MIN_LITERAL = 12  # characters of a message template's literal text a raise must share to match it


def direct_error_paths():
    """error-paths.md's direct rows: [(ERR ID, class, the literal fragments of its message template)],
    read through rnnconf.conformance.spec.clauses; "same text as ERR-xx" takes that row's fragments."""
    rows = {}
    for line in (SPEC_DIR / "error-paths.md").read_text().splitlines():
        m = _ERR_ROW.match(line)
        if not m or m.group(2) != "direct":
            continue
        cid, _, cls, message, _ = m.groups()
        same = _SAME_AS.match(message)
        if same:
            fragments = rows[same.group(1)][1]
        else:
            fragments = [f for f in (_words(part) for part in _TEMPLATE_FIELD.split(_code_span(message))) if f]
        rows[cid] = (cls, fragments)
    return [(cid, cls, fragments) for cid, (cls, fragments) in rows.items()]


def _code_span(cell):
    """The message template of an error-paths.md cell: its first code span (`...` or `` ... ``);
    empty for an *(empty message)*."""
    m = re.match(r"``\s(.*?)\s``", cell) or re.match(r"`([^`]*)`", cell)
    return m.group(1) if m else ""


def _words(text):
    return " ".join(re.sub(r"\\n|[`\\]", " ", text).split())


def _exception(node, tree):
    """The expression a raise raises: for `raise name`, the value last assigned to `name` before it
    in the same function (tf_keras builds some errors first and raises them later)."""
    exc = node.exc
    if not isinstance(exc, ast.Name):
        return exc
    value = None
    for sub in ast.walk(tree):
        if (isinstance(sub, ast.Assign) and sub.lineno < node.lineno and len(sub.targets) == 1
                and isinstance(sub.targets[0], ast.Name) and sub.targets[0].id == exc.id):
            if value is None or sub.lineno > value.lineno:
                value = sub
    return value.value if value is not None else exc


def _raised_class(exc):
    if exc is None:
        return "(re-raise)"
    if isinstance(exc, ast.Call):
        exc = exc.func
    return ast.unparse(exc).split(".")[-1]


def _raise_text(exc):
    """The string literals of a raised exception, joined (f-strings' literal parts only)."""
    parts = [sub.value for sub in ast.walk(exc) if isinstance(sub, ast.Constant) and isinstance(sub.value, str)]
    return _words(" ".join(parts))


def _in_order(fragments, text):
    at = 0
    for fragment in fragments:
        at = text.find(fragment, at)
        if at < 0:
            return False
        at += len(fragment)
    return True


# Raises whose message the catalogue shares between paths that differ by the layer's file.
_BY_FILE = {"ERR-19": "layers/rnn/simple_rnn.py", "ERR-20": "layers/rnn/gru.py", "ERR-21": "layers/rnn/lstm.py",
            "ERR-24": "layers/rnn/abstract_rnn_cell.py"}


def match_error_path(exc, rel, catalog):
    """The ERR IDs (error-paths.md, direct rows) a raised exception belongs to, or []: those of its
    class whose message template's literal fragments occur, in order, among its string literals
    (at least MIN_LITERAL characters of them; an empty template matches an exception without a
    message). ERR-04 and ERR-05 share one message, so their raises belong to both."""
    cls, text = _raised_class(exc), _raise_text(exc) if exc is not None else ""
    hits = []
    for cid, err_cls, fragments in catalog:
        if err_cls != cls or _BY_FILE.get(cid, rel) != rel:
            continue
        if not fragments:
            if not text:
                hits.append(cid)
        elif sum(map(len, fragments)) >= MIN_LITERAL and _in_order(fragments, text):
            hits.append(cid)
    return hits
