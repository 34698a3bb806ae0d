"""A reproducer's words: its docstring, the one-line summary, the bug report beside it, its scope."""
import os
import re

import numpy as np

from rnnconf.engine import compare, execute, judge as judgement
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import CELL_CLASSES, flag, is_stochastic, normalize
from .repro_source import WIDTH, _target, _where_to_run, layer_expression


# ---- words -----------------------------------------------------------------------------------------
def _input_words(case):
    steps = case["steps"] or [{"op": "call"}]
    if case["embedding"]:
        shape = (case["batch"], case["timesteps"])
        what = f"int32 tokens of shape {shape} through Embedding(mask_zero=True)"
    else:
        shape = (case["batch"], case["timesteps"], *case["features"])
        if flag(case, "time_major"):
            shape = (shape[1], shape[0], *shape[2:])
        what = f"a {case['dtype']} input of shape {shape}"
    extras = []
    if case["mask"] is not None and not case["embedding"]:
        extras.append("a mask")
    if case["initial_state"] or any(s.get("initial_state") for s in steps):
        form = case.get("initial_state_form")
        extras.append("an initial_state" + (f" ({form} form)" if form and form != "list" else ""))
    if case["constants"]:
        extras.append("constants")
    if case["training"] is not None:
        extras.append(f"training={case['training']}")
    text = what + (" with " + ", ".join(extras) if extras else "")
    ops = [s.get("op", "call") for s in steps]
    if ops != ["call"]:
        text += "; steps: " + ", ".join(_step_words(s) for s in steps)
    return text


def _step_words(step):
    op = step.get("op", "call")
    if op == "reset":
        what = step.get("states")
        return "reset_states(" + ("" if what is None else "states" if what == "random" else f"{what} states") + ")"
    if op == "states":
        return "read states"
    extra = [k for k in ("initial_state", "list_input") if step.get(k)] + (
        [f"batch {step['batch']}"] if step.get("batch") else [])
    return "call" + (f" ({', '.join(extra)})" if extra else "")


def _label(name):
    module = namespaces.SHORT_NAMES.get(name, name)
    return name if module == name else f"{name} ({module})"


def _mismatch(item):
    ms = item.get("mismatches") or []
    m = ms[0] if ms else None
    return m.to_dict() if hasattr(m, "to_dict") else m


def summary(item, impl, oracle):
    """One sentence: which layer, on what, differs how."""
    case = normalize(item["config"])
    core = (item.get("fingerprint") or {}).get("core", "")
    kind = item.get("kind", "value")
    subject = f"`{layer_expression(case)}` on {_input_words(case)}"
    if case.get("warmup"):
        subject += ", on a layer that has already run on other data"
    if kind == "error":
        return f"{subject}: {_error_words(item, impl, oracle)}."
    if kind in ("crash", "timeout"):
        return f"{subject}: {impl} {'crashes' if kind == 'crash' else 'hangs'} where {oracle} returns."
    what = core.removesuffix(judgement.ON_REUSED)
    how = {"value": "differ{} from {}'s beyond rounding", "shape": "differ{} in shape from {}'s",
           "dtype": "differ{} in dtype from {}'s", "structure": "differ{} in nesting from {}'s"}
    how = how.get(kind, "differ{} from {}'s")
    if kind == "value" and is_stochastic(case):
        how = "differ{} in distribution from {}'s under dropout"
        what = re.sub(r"^distribution of the ", "", what)
    if what:
        return f"{subject}: {impl}'s {what} {how.format('s', oracle)}."
    return f"{subject}: {impl}'s results {how.format('', oracle)}."


def _error_words(item, impl, oracle):
    stats = (_mismatch(item) or {}).get("stats") or {}
    want, got = stats.get("expected"), stats.get("actual")

    def said(err):
        return f"{err['type']} ({_first_sentence(err['message'])})"
    if want and got:
        if stats.get("facts") is False:
            return f"both raise {got['type']}, but {impl}'s message does not state the facts {oracle}'s does"
        return f"{oracle} raises {said(want)} where {impl} raises {said(got)}"
    if want:
        return f"{oracle} raises {said(want)} where {impl} raises nothing"
    if got:
        return f"{impl} raises {said(got)} where {oracle} raises nothing"
    detail = item.get("detail", "")
    text = detail.split(": ", 1)[1] if re.match(r"step -?\d+: ", detail) else detail
    return text.replace("the oracle", oracle).replace("the implementation", impl)[:300]


def _first_sentence(text, limit=160):
    first = re.split(r"(?<=[.:;])\s|\n", text.strip(), maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit] + "..."


def _expected_actual(item):
    """(expected, actual) in words: the two errors' first sentences, or the detail's two values."""
    m = _mismatch(item) or {}
    stats = m.get("stats") or {}
    if m.get("kind") == "error" and ("expected" in stats or "actual" in stats):
        def said(err):
            return f"raises {err['type']}: {_first_sentence(err['message'], 400)}" if err else "raises nothing"
        return said(stats.get("expected")), said(stats.get("actual"))
    detail = item.get("detail", "")
    value = re.match(r"(?P<where>[^:]+): max abs diff (?P<abs>\S+) \(max rel (?P<rel>\S+)\) at (?P<at>\([^)]*\)): "
                     r"expected (?P<e>.*?), got (?P<a>.*)$", detail, re.S)
    if value:
        return (f"{value['e']} at {value['where']} {value['at']}",
                f"{value['a']} there; the largest difference in that array is {value['abs']} "
                f"(relative {value['rel']})")
    match = re.search(r"expected (.*?), got (.*)$", detail, re.S)
    if match:
        return f"{match.group(1)} ({detail.split(':', 1)[0]})", match.group(2)
    return detail, detail


def report(item, impl, oracle, code, versions, npz=None, short=None, why_not=None):
    """The bug report beside the script: a summary, the short snippet (reports/snippet.py), what the
    minimal case shows, versions, expected vs actual, the full script."""
    case = normalize(item["config"])
    name = os.path.basename(item["repro"])
    expected, actual = _expected_actual(item)
    versions_line = ", ".join(f"{k} {v}" for k, v in (versions or {}).items()) or "not recorded"
    needs = ["numpy"] + [namespaces.SHORT_NAMES.get(n, n).split(":")[0].split(".")[0] for n in (oracle, impl)]
    files = f"`{name}` with `{npz}` beside it (attached)" if npz else f"`{name}`"
    kind = item.get("kind", "value")
    article = "an" if kind[0] in "aeiou" else "a"
    title = f"{impl}: {article} {kind} discrepancy with {oracle} in {layer_expression(case)}"
    return "\n".join([
        f"# {title}",
        "",
        f"**Summary.** {summary(item, impl, oracle)}",
        "",
        *(["```python", short.rstrip("\n"), "```", "",
           f"This snippet uses {impl}'s API only; it asserts what {oracle} returns on the same code and "
           f"fails while the bug persists. The full replay script below runs the exact case on both sides.", ""]
          if short else [f"_No short snippet: {why_not}._", ""] if why_not else []),
        f"**What the minimal case shows.** {scope(item, impl, oracle)}",
        "",
        f"**Versions.** {versions_line}",
        "",
        f"**Expected** ({_label(oracle)}): {expected}",
        "",
        f"**Actual** ({_label(impl)}): {actual}",
        "",
        f"**Reproduce.** Save {files} and run `python {name}` (it needs {', '.join(dict.fromkeys(needs))}). "
        "It prints both sides' results and what differs, and exits 1 while the discrepancy persists, 0 once "
        "both sides agree; `--impl NAME` runs it against another implementation."
        + (" Under dropout it compares errors, nesting, shapes and dtypes only (exit 2 where those agree): "
           "the distributions were compared by rnnconf over hundreds of samples a side."
           if is_stochastic(case) and kind == "value" else ""),
        "",
        "```python",
        code.rstrip("\n"),
        "```",
        "",
        f"Found by differential testing against {oracle} (rnnconf); the case was shrunk to the smallest "
        f"that still differs. Detail: {item.get('detail', '')[:500]}",
        "",
    ])


FEATURE_WORDS = {
    "mask": "a mask", "stack": "a stack of cells", "initial_state": "an initial_state", "constants": "constants",
    "embedding": "an Embedding(mask_zero=True) input", "calls:several": "several calls (stateful)",
    "read-states": "reading the states", "call:other-batch": "a call with another batch",
    "call:list-input": "the list-input form", "dtype:float64": "float64", "dtype:float16": "float16",
}


def feature_words(feature):
    """A case feature (rnnconf.engine.judge.features) as a maintainer says it."""
    if feature in FEATURE_WORDS:
        return FEATURE_WORDS[feature]
    name, _, value = feature.partition(":")
    if name == "flag":
        return f"{value}=True"
    if name == "cell":
        return f"a {CELL_CLASSES.get(value, value)}" if value in CELL_CLASSES else f"the custom cell {value}"
    if name == "layer":
        return f"the {value} layer"
    if name == "reset":
        return "reset_states()" if value == "zeros" else f"reset_states with {value.replace('_', ' ')} states"
    if feature.startswith("training="):
        return feature
    return feature.replace("=", " = ").replace("initial_state_form", "initial states in the form")


def _words(features):
    items = [feature_words(f) for f in features]
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def scope(item, impl, oracle):
    """What the shrunk case shows and how far it generalises: the features it needs (each taken away,
    it passes or fails otherwise), those it was found with and does not need, by how much it differs
    and, for float64 values, how far each side is from a float64 NumPy computation."""
    fp = item.get("fingerprint")
    case = normalize(item["config"])
    if not fp:  # a suite root cause: the test's own case
        tests = item.get("tests") or []
        return (f"The case of a failed suite test, not shrunk: which of its features the bug needs was not "
                f"measured. {len(tests) or 'Its'} failed test{'s' if len(tests) != 1 else ''} of clauses "
                f"{', '.join(item.get('clauses') or [])} fail this way and no fuzzer discrepancy accounts for them.")
    needed = list(fp.get("features") or [])
    have = judgement.features(case)
    original = (judgement.features(item["original"]) if item.get("original") else [])
    spare = sorted((set(have) | set(original)) - set(needed))
    parts = []
    tried = [f for f in needed if judgement.without_feature(case, f)]
    kept = [f for f in needed if f not in tried]
    if tried:
        parts.append(f"It needs {_words(tried)}: " + ("with any one of them taken away" if len(tried) > 1
                                                        else "without it") + ", the case no longer fails this way.")
    if kept:
        parts.append(f"It has {_words(kept)}, which cannot be taken away alone (not tried without).")
    if not needed:
        parts.append("It needs no particular feature: the plainest case of its kind fails this way.")
    if spare:
        parts.append(f"It does not need {_words(spare)} (the case still fails the same way without each, "
                     "or was shrunk past it).")
    if not any(f.startswith("cell:") for f in needed) and any(f.startswith("cell:") for f in have):
        parts.append("Other built-in cell kinds fail the same way.")
    if item.get("found_without"):
        parts.append(f"It was found behind another discrepancy: the case also failed as that one does, and "
                     f"still failed without {feature_words(item['found_without'])}.")
    m = _mismatch(item) or {}
    how = re.search(r"max abs diff (\S+) \(max rel (\S+)\)", m.get("detail") or item.get("detail") or "")
    if how and item.get("kind") == "value":
        parts.append(f"By how much: up to {how.group(1)} absolute ({how.group(2)} relative) in "
                     f"{m.get('path') or 'the result'} of step {m.get('step', 0)}.")
    truth = float64_truth(item)
    if truth is not None:
        expected, actual, exact = truth
        parts.append(f"Against a float64 NumPy computation of the same case (rnnconf's reference) at that "
                     f"element: {oracle} is {abs(expected - exact):.2g} from it, {impl} {abs(actual - exact):.2g}.")
    return " ".join(parts)


def float64_truth(item):
    """(oracle's value, implementation's value, the NumPy reference's) at the element where a float64
    value discrepancy differs most, or None: the truth each side is measured against."""
    case = normalize(item["config"])
    m = _mismatch(item) or {}
    if item.get("kind") != "value" or case["dtype"] != "float64" or is_stochastic(case) or not m:
        return None
    found = re.search(r"at \(([\d, ]*)\): expected (\S+), got (\S+)", m.get("detail") or "")
    if not found:
        return None
    try:
        index = tuple(int(i) for i in found.group(1).replace(" ", "").split(",") if i)
        outcome = execute.run(_target("reference"), case)
        result = outcome["steps"][max(0, m.get("step", 0))]["result"]
        exact = float(np.asarray(dict(compare._leaves(result))[m["path"]], dtype=np.float64)[index])
        return float(found.group(2).rstrip(",")), float(found.group(3).rstrip(",")), exact
    except Exception:  # noqa: BLE001 - the words go without the truth where it cannot be had
        return None


def _docstring(item, case, impl, oracle, npz):
    name = os.path.basename(item.get("repro") or "repro.py")
    kind = item.get("kind", "value")
    article = "an" if kind[0] in "aeiou" else "a"
    head = f"{item.get('id', 'repro')}: {article} {kind} discrepancy between {impl} and {oracle}."
    lines = [head, "", *_wrap(summary(item, impl, oracle))]
    if item.get("detail"):
        lines += [""] + _wrap("Found: " + item["detail"][:400])
    if npz:
        lines.append(f"The data is in {npz}, beside this script.")
    lines += ["", f"Run: python {name} [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)"]
    if _where_to_run(impl):
        lines += _wrap(_where_to_run(impl))
    if is_stochastic(case) and kind == "value":
        lines += _wrap("Not reproduced here: the values differ in distribution under dropout, which needs "
                       "rnnconf's sampled check. Exits 1 where errors, nesting, shapes or dtypes differ, else 2.")
    else:
        lines.append("Exits 1 while the discrepancy persists, 0 once both sides agree.")
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', "'''")
    return f'"""{text}\n"""'


def _wrap(text, width=WIDTH - 4):
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return lines + ([line] if line else [])
