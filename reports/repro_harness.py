"""The fixed parts of a reproducer: the harness that runs both sides and compares them, copied from
repro_runtime.py (the parts a case needs: stateful layers, tensors, gradients, error facts, a
timeout), and the settings by which the copied functions judge this case."""
import inspect
import re

from rnnconf.engine import compare, error_catalog, execute
from . import repro_runtime
from .repro_cells import _framework_ops_source
from .repro_source import _py, _target


# ---- error facts -----------------------------------------------------------------------------------
def _recorded_oracle_error(item):
    """The oracle's error as the item's mismatches recorded it ({"type", "message", ...}), or None."""
    for m in item.get("mismatches") or []:
        stats = m.get("stats") if isinstance(m, dict) else getattr(m, "stats", None)
        if stats and stats.get("expected"):
            return stats["expected"]
    return None


def _facts_of(item, case, oracle):
    """(pattern, fact names) of the catalogued error path the oracle's error is, where its message
    has facts to compare; else None. The oracle's error comes from the item's recorded mismatch, or
    from running the case on the reference (whose messages are the oracle's)."""
    error = _recorded_oracle_error(item)
    if error is None:
        outcome = execute.run(_target("reference"), case)
        error = outcome.get("error") or next((s["error"] for s in outcome["steps"] if "error" in s), None)
    err_id = (error_catalog.classify(error, case) or error_catalog.classify_other(error)) if error else None
    entry = error_catalog.CATALOG.get(err_id) or error_catalog.OTHER_ERRORS.get(err_id)
    names = tuple(f for f in entry["facts"] if f in entry["pattern"].groupindex) if entry else ()
    if not names:  # (ERR-05's shape of the first state passed is no group of its pattern: not checked)
        return None
    return err_id, entry["pattern"].pattern, names


# ---- the copied harness ----------------------------------------------------------------------------
_PART = re.compile(r"^# ---- part (\w+)\b.*\n", re.M)


def runtime_parts():
    """{part name: its source} of repro_runtime.py, in the file's order."""
    pieces = _PART.split(inspect.getsource(repro_runtime))
    return {name: body.strip("\n") for name, body in zip(pieces[1::2], pieces[2::2])}


def _imports(npz, custom, timeout):
    names = ["argparse", "importlib"] + (["os"] if npz or timeout else []) + ["re"] \
        + (["signal"] if timeout else []) + ["sys"]
    lines = [f"import {n}" for n in names]
    if custom:
        lines.append("from types import SimpleNamespace")
    return "\n".join(lines) + "\n\nimport numpy as np"


def _harness(tensor, custom, ops_needed, facts, timeout, stateful=False, gradients=False):
    """The harness's source: repro_runtime's parts this case needs, copied, and the custom cells' ops."""
    parts = runtime_parts()
    wanted = ["namespace"] + (["stateful"] if stateful else []) + (["tensors"] if tensor else [])
    copied = [parts[name] for name in wanted]
    if custom:
        copied.append(_framework_ops_source(ops_needed))
    copied += [parts[name] for name in ["run", "compare", "errors"] + (["facts"] if facts else [])
               + (["timeout"] if timeout else []) + (["gradients"] if gradients else [])]
    if gradients:  # the framework defaults, rnnconf's own (engine/gradients.py)
        copied.append("\n\n".join(inspect.getsource(f).rstrip() for f in repro_runtime.GRADIENT_FUNCTIONS))
    copied += [parts["main"], 'if __name__ == "__main__":\n    sys.exit(main())']
    return "# ---- running both sides and comparing them: the same in every reproducer " + "-" * 21 + "\n" \
        + "\n\n\n".join(copied)


def _settings(case, facts, timeout, stochastic, undecided, gradients):
    """The module-level settings the copied harness reads (repro_runtime's "settings" part), as source."""
    lines = ["# How the harness below judges this case:"]
    if stochastic:
        lines += ["# Dropout while training: both sides draw random masks, so values are not compared here",
                  "# (rnnconf compares their distributions, over hundreds of samples a side).",
                  "VALUES_COMPARED = False"]
    else:
        lines.append("VALUES_COMPARED = True  # values are held to the rounding bound of ROUNDING_STEPS")
    if undecided:
        lines.append("UNDECIDED = True  # the discrepancy is a distribution's: agreeing structure decides nothing")
    else:
        lines.append("UNDECIDED = False  # True: agreeing structure leaves a distribution's discrepancy open (exit 2)")
    if facts:
        err_id, pattern, names = facts
        lines += [f"# The oracle's error states facts from the input ({err_id} in rnnconf's error catalog).",
                  "# The implementation's message must state them too: by name where it has the oracle's wording,",
                  "# else anywhere, in order.",
                  f"FACTS = re.compile(\n    {_raw(pattern)},\n    re.S | re.M)",
                  f"FACT_NAMES = {_py(tuple(names))}"]
    else:
        lines.append("FACTS = None  # no catalogued facts to compare: an error's class is what counts")
    lines.append("TIMEOUT_S = 60  # a hang of the implementation ends the script" if timeout
                 else "TIMEOUT_S = None  # seconds the implementation may run")
    if gradients:
        lines += ["# The loss differentiated: sum(c * y) over every returned tensor y, c drawn per call from",
                  "# this seed (rnnconf's engine/gradients.py cotangents_for); gradients are held to",
                  "# GRADIENT_STEPS times each step's rounding steps.",
                  "GRADIENTS = True",
                  f"SEED = {case['seed']}",
                  f"GRADIENT_STEPS = {compare.GRADIENT_STEPS_FACTOR}"]
    else:
        lines.append("GRADIENTS = False  # whether gradients are compared too")
    return "\n".join(lines)


def _raw(pattern, width=88):
    """A regex as Python source: raw strings of at most `width` characters, one per line."""
    quote = '"' if '"' not in pattern else "'" if "'" not in pattern else None
    if quote is None or pattern.endswith("\\"):
        return repr(pattern)
    pieces, rest = [], pattern
    while len(rest) > width:
        cut = width
        while rest[cut - 1] == "\\":  # a raw string cannot end in a backslash
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return "\n    ".join(f"r{quote}{p}{quote}" for p in pieces + [rest])
