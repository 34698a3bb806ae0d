"""The words of a reproducer: its docstring, its one-line summary and the bug report beside it (.md)."""
import os
import re

from rnnconf.adapters import namespaces, targets
from rnnconf.engine import judge as judgement
from rnnconf.engine.cases import flag, is_stochastic, normalize

from .repro_source import wrap


def input_words(case):
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
        text += "; steps: " + ", ".join(step_words(s) for s in steps)
    return text



def step_words(step):
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



def summary(item, impl, oracle, layer):
    """One sentence: which layer, on what, differs how."""
    case = normalize(item["config"])
    core = (item.get("fingerprint") or {}).get("core", "")
    kind = item.get("kind", "value")
    subject = f"`{layer}` on {input_words(case)}"
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



def report(item, impl, oracle, code, versions, layer, npz=None):
    """The bug report beside the script: versions, a summary, expected vs actual, the script."""
    case = normalize(item["config"])
    name = os.path.basename(item["repro"])
    expected, actual = _expected_actual(item)
    versions_line = ", ".join(f"{k} {v}" for k, v in (versions or {}).items()) or "not recorded"
    needs = ["numpy"] + [namespaces.SHORT_NAMES.get(n, n).split(":")[0].split(".")[0] for n in (oracle, impl)]
    files = f"`{name}` with `{npz}` beside it (attached)" if npz else f"`{name}`"
    kind = item.get("kind", "value")
    article = "an" if kind[0] in "aeiou" else "a"
    title = f"{impl}: {article} {kind} discrepancy with {oracle} in {layer}"
    return "\n".join([
        f"# {title}",
        "",
        f"**Summary.** {summary(item, impl, oracle, layer)}",
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



def docstring(item, case, impl, oracle, npz, layer):
    name = os.path.basename(item.get("repro") or "repro.py")
    kind = item.get("kind", "value")
    article = "an" if kind[0] in "aeiou" else "a"
    head = f"{item.get('id', 'repro')}: {article} {kind} discrepancy between {impl} and {oracle}."
    lines = [head, "", *wrap(summary(item, impl, oracle, layer))]
    if item.get("detail"):
        lines += [""] + wrap("Found: " + item["detail"][:400])
    if npz:
        lines.append(f"The data is in {npz}, beside this script.")
    lines += ["", f"Run: python {name} [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)"]
    if _where_to_run(impl):
        lines += wrap(_where_to_run(impl))
    if is_stochastic(case) and kind == "value":
        lines += wrap("Not reproduced here: the values differ in distribution under dropout, which needs "
                       "rnnconf's sampled check. Exits 1 where errors, nesting, shapes or dtypes differ, else 2.")
    else:
        lines.append("Exits 1 while the discrepancy persists, 0 once both sides agree.")
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', "'''")
    return f'"""{text}\n"""'


def _where_to_run(impl):
    """The docstring's words on the environment the script needs, for a target; else None."""
    spec = targets.TARGETS.get(impl)
    if spec is None:
        return None
    oracle = " ".join(p for p in targets.ORACLE_PINS if p not in spec.pins)
    pins = " ".join(p for p in spec.pins if p != targets.JAX_CACHE_PIN)  # the cache is rnnconf's speed-up only
    words = (f"Both sides run in this process: use an environment with target {impl}'s pins, "
             f"{pins}" + (f", and the oracle's, {oracle}" if oracle else "") + ".")
    if spec.impl.startswith("rnnconf."):
        words += f" Its adapter is rnnconf's ({spec.impl}): put rnnconf's source on PYTHONPATH."
    return words
