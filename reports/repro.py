"""Standalone reproducers for discrepancies: DIR/repro/d-XXXX.py, a bug report d-XXXX.md beside it,
and d-XXXX.npz beside them where the data is large.

A reproducer is what a maintainer can paste into an upstream bug report. It imports NumPy, the
oracle's package and the implementation's (found by --impl NAME at run time), never rnnconf; it
builds the layer with plain API calls, sets the case's weights, feeds its inputs, masks, initial
states and constants as literals, runs every step of the case on both sides, prints what differs
and exits 1 while anything does (0 once fixed; 2 when a side cannot be imported). It runs from any
directory: the only file it reads is its .npz, found beside itself.

The code is generated from the case by small helpers, one per concern: the layer (_layer_lines) and
its custom cells (custom_cell_source), one call's arguments (_call_line), one step (_step_line), a
phase of steps on one layer (_phase_lines), the data (Data), the settings of the comparison
(_harness_settings); the comparison itself is repro_harness.py, a module copied into every script.
The data is computed here with rnnconf.engine.cases' own functions (inputs_for, mask_for,
initial_state_for, random_states, part_weights), so the script feeds both sides exactly the arrays
rnnconf.engine.execute.run fed them; the weight shapes come from building the case on the NumPy
reference, which lays its weights out as tf_keras does. The judgement is compare.py's, written
inline: error classes (and, for a catalogued error path, the facts its message states), nesting,
shapes, dtypes, then values within the rounding bound. Not reproduced: the float32 recheck against
the oracle in float64 (compare.float64_recheck), so a float32 result that only the recheck would
pass counts as a difference.
"""
import inspect
import json
import os
import re

import numpy as np

from rnnconf.engine import compare, error_catalog, execute, judge as judgement, schema
from rnnconf.adapters import namespaces, targets
from rnnconf.engine.cases import (BUILTIN_LAYERS, CELL_CLASSES, cell_state_dims, flag, initial_state_for, inputs_for,
                               is_stochastic, mask_for, normalize, part_weights, perturbed, reset_states_for,
                               step_rng)

from . import repro_harness
from .repro_cells import class_name, custom_cell_source, factory_name, framework_ops_source, ops_needed
from .repro_source import Data, call_source, indent, py, raw
from .repro_words import docstring, report

HARNESS_MARKER = "# ---- HARNESS:"  # repro_harness.py from this line on is every reproducer's
RNN_FLAGS = schema.FLAGS  # all False by default
CELL_DEFAULTS = schema.CELL_DEFAULTS  # a keyword at its Keras 2 default is left out


def write(out_dir, item, impl, oracle, versions=None):
    """Write DIR/<item['repro']> for a results.json discrepancy item, the bug report beside it (.md)
    and, where the data is large, its arrays (.npz); returns the script's path. `versions` (name ->
    version) defaults to DIR/results.json's "versions" where that exists."""
    path = os.path.join(out_dir, item["repro"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    stem = os.path.splitext(os.path.basename(path))[0]
    text, arrays = script(item, impl, oracle, npz_name=stem + ".npz")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    npz = os.path.splitext(path)[0] + ".npz"
    if arrays:
        with open(npz, "wb") as f:
            np.savez(f, **arrays)
    elif os.path.exists(npz):  # a rewritten reproducer whose data now fits inline
        os.remove(npz)
    if versions is None:
        versions = _recorded_versions(out_dir)
    with open(os.path.splitext(path)[0] + ".md", "w") as f:
        f.write(report(item, impl, oracle, text, versions, layer_expression(normalize(item["config"])),
                       npz=stem + ".npz" if arrays else None))
    return path


def _recorded_versions(out_dir):
    try:
        with open(os.path.join(out_dir, "results.json")) as f:
            return json.load(f).get("versions") or {}
    except (OSError, ValueError):
        return {}


# ---- the script ------------------------------------------------------------------------------------
def script(item, impl, oracle, npz_name=None):
    """(the reproducer's source, the arrays for its .npz or {}) of a discrepancy item. Without
    `npz_name` every array is written inline."""
    case = normalize(item["config"])
    warmup = case.get("warmup")
    case = {k: v for k, v in case.items() if k != "warmup"}
    data = Data()
    body = _layer_lines(case)
    earlier = dict(case, **warmup) if warmup else None
    recorded = _recorded_oracle_error(item)
    # Where the oracle is known to raise, a first call that fails on the reference fails there too.
    weights = _weights(case, earlier, oracle if recorded is None else None)
    # The case's own data is named first, so that what the earlier run shares with it has its name.
    later = _phase_lines(case, data, "", weights["case"], fresh=earlier is None)
    if earlier is not None:
        body.append("# The difference shows on a layer that has run before: first the earlier data.")
        body += _phase_lines(earlier, data, "EARLIER_", weights["earlier"], fresh=True)
        body.append("steps.clear()  # only what follows is compared")
    body += later

    variants = sorted({c["variant"] for c in case["cells"] if c["kind"] == "custom"})
    facts = _facts_of(item, case, oracle) if item.get("kind") == "error" else None
    uses = "\n".join(body)
    definitions, arrays = data.code(npz_name, order=uses)
    kind = item.get("kind", "value")
    module, environment = runnable(impl)
    header = "\n".join(["#!/usr/bin/env python", docstring(item, case, impl, oracle, npz_name if arrays else None,
                                                               layer_expression(normalize(item["config"]))),
                        _imports(bool(variants))])
    settings = [f"IMPL = {py(module)}\nORACLE = {py(oracle)}", definitions, _rounding_steps_line(case)]
    if environment:
        settings.insert(0, f"# The implementation as target {impl} runs it (set before it is imported):\n" + "\n".join(
            f"os.environ.setdefault({py(k)}, {py(v)})" for k, v in environment.items()))
    if is_stochastic(case):
        settings.append("# Dropout while training: both sides draw random masks, so values are not compared here\n"
                        "# (rnnconf compares their distributions, over hundreds of samples a side).\n"
                        "VALUES_COMPARED = False")
    settings.append(_harness_settings(facts, kind == "timeout", is_stochastic(case),
                                      undecided=is_stochastic(case) and kind == "value"))
    functions = [custom_cell_source(variant, case) for variant in variants]
    functions.append('def run(layers, steps):\n    """The case on the namespace `layers`; each step\'s result '
                     'goes to `steps`."""\n' + indent(uses))
    functions.append(_harness(bool(variants), ops_needed(variants)))
    text = header + "\n\n" + "\n\n".join(settings) + "\n\n\n" + "\n\n\n".join(functions) + "\n"
    return text, arrays


def runnable(impl):
    """(the module the script imports for `impl`, the environment variables it needs): a target
    (adapters/targets.py) names its module and its variables (KERAS_BACKEND), `IMPL@PYTHON` its module."""
    spec = targets.TARGETS.get(impl)
    if spec is not None:
        return spec.impl, dict(spec.env)
    split = targets.split_remote(impl)
    return (split[0] if split else impl), {}




# ---- the layer -------------------------------------------------------------------------------------
def _dtype_kw(case):
    return [] if case["dtype"] == "float32" else [f"dtype={py(case['dtype'])}"]


def _cell_kwargs(cell):
    defaults = CELL_DEFAULTS.get(cell["kind"], {})
    return [f"{k}={py(v)}" for k, v in cell.items()
            if k not in ("kind", "units", "variant") and not (k in defaults and v == defaults[k]
                                                             and type(v) is type(defaults[k]))]


def _flag_kwargs(case):
    return [f"{k}={py(v)}" for k, v in case["flags"].items() if not (k in RNN_FLAGS and v is False)]


def _stateful_kw(case):
    # A stateful layer is given its batch size by its input shape, as cases.build_layer does.
    if not flag(case, "stateful"):
        return []
    return [f"batch_input_shape={py((case['batch'], case['timesteps'], *case['features']))}"]


def _cell_expr(cell, case, features, prefix="layers."):
    dtype = _dtype_kw(case)
    if cell["kind"] == "custom":
        rows = [f"rows={features[0]}"] if cell["variant"] == "hd_state" else []
        return f"{class_name(cell['variant'])}({', '.join([py(cell['units'])] + rows + dtype)})"
    args = [py(cell["units"])] + _cell_kwargs(cell) + dtype
    return f"{prefix}{CELL_CLASSES[cell['kind']]}({', '.join(args)})"


def _cells_exprs(case, prefix="layers."):
    out, features = [], list(case["features"])
    for cell in case["cells"]:
        out.append(_cell_expr(cell, case, features, prefix))
        dims = cell_state_dims(cell, features)
        features = dims[0] if isinstance(dims[0], list) else dims
    return out


def _layer_args(case, prefix="layers."):
    """(the constructor's name, its positional argument source, its keywords) of the case's layer."""
    kwargs = _flag_kwargs(case) + _dtype_kw(case) + _stateful_kw(case)
    if case["layer"] in BUILTIN_LAYERS:
        cell = case["cells"][0]
        return f"{prefix}{case['layer']}", [py(cell["units"])] + _cell_kwargs(cell) + kwargs, None
    cells = _cells_exprs(case, prefix)
    as_list = len(cells) > 1 or case["cell_list"]
    return f"{prefix}RNN", kwargs, (cells, as_list)


def layer_expression(case):
    """The layer as a reader sees it, without the namespace: "RNN(GRUCell(3), go_backwards=True)"."""
    name, kwargs, cells = _layer_args(normalize(case), prefix="")
    if cells is None:
        return f"{name}({', '.join(kwargs)})"
    inner = "[" + ", ".join(cells[0]) + "]" if cells[1] else cells[0][0]
    return f"{name}({', '.join([inner] + kwargs)})"


def _layer_lines(case):
    lines = []
    for variant in sorted({c["variant"] for c in case["cells"] if c["kind"] == "custom"}):
        lines.append(f"{class_name(variant)} = {factory_name(variant)}(layers)")
    name, kwargs, cells = _layer_args(case)
    if cells is None:
        lines.append(call_source("layer = " + name, kwargs))
    else:
        exprs, as_list = cells
        if as_list and len(", ".join(exprs)) > 60:
            lines.append(call_source("cells = ", exprs, brackets="[]"))
            lines.append(call_source("layer = " + name, ["cells"] + kwargs))
        else:
            lines.append(call_source("layer = " + name, [f"[{', '.join(exprs)}]" if as_list else exprs[0]] + kwargs))
    if case["embedding"]:
        dtype = _dtype_kw(case)
        args = [py(case["embedding"]["vocab"]), py(case["features"][0]), "mask_zero=True"] + dtype
        lines.append(call_source("embedding = layers.Embedding", args))
    return lines


# ---- weights ---------------------------------------------------------------------------------------
def _weights(case, earlier, oracle=None):
    """{"case": [weights per part], "earlier": ...}: what execute installs (the layer's, then the
    embedding's), drawn for the shapes of a layer built by the case's first call: on the NumPy
    reference, or on `oracle` (if given) where that call fails on the reference. None where nothing
    is built before the steps (then nothing is set) or the call fails."""
    first = earlier or case
    for name in ("reference", oracle) if oracle else ("reference",):
        try:
            runner = execute.Runner(_target(name), first)
            runner.prepare()
        except Exception:  # noqa: BLE001 - an error of the first call is the script's to show
            continue
        parts = [p for p in (runner.layer, runner.embedding) if p is not None]
        specs = [[(tuple(np.shape(w)), np.asarray(w).dtype) for w in part.get_weights()] for part in parts]

        def drawn(c):
            return part_weights(specs, normalize(c)) if any(specs) else None
        return {"case": drawn(case), "earlier": drawn(earlier) if earlier is not None else None}
    return {"case": None, "earlier": None}


_TARGETS = {}


def _target(name):
    if name not in _TARGETS:
        _TARGETS[name] = namespaces.resolve(name)
    return _TARGETS[name]


# ---- steps -----------------------------------------------------------------------------------------
def _phase_lines(case, data, prefix, weights, fresh):
    """One run of the case's steps on `layer`: a fresh layer is built by its first call, then given
    the case's weights (execute.Runner.prepare); a layer that ran before gets them at once."""
    steps = case["steps"] or [{"op": "call"}]
    calls = sum(1 for s in steps if s.get("op", "call") == "call")
    lines = []
    if fresh and steps[0].get("op", "call") == "call":
        build = _call_line(case, 0, steps[0], data, prefix, calls, column=4)
        lines.append(build + "  # builds the weights, replaced next")
    if weights:
        lines.append(f"layer.set_weights({data.add(prefix + 'WEIGHTS', weights[0])})")
        if case["embedding"]:
            lines.append(f"embedding.set_weights({data.add(prefix + 'EMBEDDING', weights[1])})")
    if flag(case, "stateful"):
        lines.append("layer.reset_states()  # zero states, as on a new layer")
    for index, step in enumerate(steps):
        lines.append(_step_line(case, index, step, data, prefix, calls))
    return lines


def _step_line(case, index, step, data, prefix, calls):
    op = step.get("op", "call")
    if op == "call":
        return f"steps.add({_call_line(case, index, step, data, prefix, calls)})"
    if op == "states":
        return "steps.add(list(layer.states), read=True)"
    if op == "reset":
        what = step.get("states")
        states = "" if what is None else data.add(f"{prefix}RESET{index}", reset_states_for(case, index, what))
        return f"layer.reset_states({states})\nsteps.add(None)  # a reset has no result"
    raise ValueError(f"unknown step op {op!r}")


def _call_line(case, index, step, data, prefix, calls=1, column=14):
    """`layer(...)` for one call step: its inputs, the case's mask, training, initial_state and
    constants (execute.Runner.call)."""
    source = step.get("input_step", index)
    name = f"{prefix}X" if calls == 1 and source == 0 else f"{prefix}X{source}"
    x = data.add(name, inputs_for(case, source, step.get("batch")))
    kwargs = []
    mask = mask_for(case)
    if mask is not None:
        name = data.add(prefix + "MASK", mask)
        if flag(case, "time_major"):
            data.notes[name] = "(timesteps, batch): tf_keras reads the mask of a time-major layer time-major"
        kwargs.append(f"mask={name}")
    if case["training"] is not None:
        kwargs.append(f"training={py(case['training'])}")
    states = constants = None
    bare = False
    if step.get("initial_state", case["initial_state"]):
        nest = initial_state_for(case, index, step, lambda a: a)
        bare = not isinstance(nest, (list, tuple))
        name = f"{prefix}STATES{index}" if calls > 1 else f"{prefix}STATES"
        states = f"tensors(layers, {data.add(name, nest)})"
    if case["constants"]:
        batch = step.get("batch", case["batch"])
        rng = step_rng(case, index, 3)
        values = [rng.normal(0, 1, [batch] + list(s)).astype(case["dtype"]) for s in case["constants"]]
        values = perturbed(case, values, index, 3)
        name = f"{prefix}CONSTANTS{index}" if calls > 1 else f"{prefix}CONSTANTS"
        constants = f"tensors(layers, {data.add(name, values)})"
    if step.get("list_input"):  # [x, *initial_state's entries, *constants] as one list (execute.Runner.call)
        items = [x] + ([states if bare else "*" + states] if states else []) + (["*" + constants] if constants else [])
        return call_source("layer", ["[" + ", ".join(items) + "]"] + kwargs, column=column)
    if states is not None:
        kwargs.append(f"initial_state={states}")
    if constants is not None:
        kwargs.append(f"constants={constants}")
    inputs = f"embedding({x})" if case["embedding"] else x
    return call_source("layer", [inputs] + kwargs, column=column)


def _rounding_steps_line(case):
    steps = case["steps"] or [{"op": "call"}]
    counts = [compare.recurrent_steps(case, i) for i in range(len(steps))]
    return ("# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states\n"
            f"# it carries), which the value bound below grows with.\nROUNDING_STEPS = {counts}")


# ---- data ------------------------------------------------------------------------------------------


# ---- custom cells ----------------------------------------------------------------------------------




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


# ---- fixed parts -----------------------------------------------------------------------------------
def _imports(custom):
    lines = [f"import {n}" for n in ("argparse", "importlib", "os", "re", "signal", "sys")]
    if custom:
        lines.append("from types import SimpleNamespace")
    return "\n".join(lines) + "\n\nimport numpy as np"


def _harness_settings(facts, timeout, stochastic, undecided):
    """The settings the harness reads (reports/repro_harness.py), for this case."""
    lines = [] if stochastic else ["VALUES_COMPARED = True"]
    if facts:
        err_id, pattern, names = facts
        lines.append(f"# The oracle's error states facts from the input ({err_id} in rnnconf's error catalog).\n"
                     "# The implementation's message must state them too: by name where it has the oracle's "
                     "wording,\n# else anywhere, in order.\n"
                     f"FACTS = re.compile(\n    {raw(pattern)},\n    re.S | re.M)\nFACT_NAMES = {py(tuple(names))}")
    else:
        lines.append("FACTS, FACT_NAMES = None, ()  # no catalogued facts to compare: the class is what counts")
    lines.append(f"HANG_S = {60 if timeout else None}  # a hang of the implementation ends the script")
    lines.append(f"DISTRIBUTION_ONLY = {bool(undecided)}"
                 + ("  # a difference of distributions under dropout: not decided here" if undecided else ""))
    return "\n".join(lines)


def _harness(custom, ops_needed):
    """The fixed part of every reproducer: repro_harness.py's code from its HARNESS marker on, after the
    framework ops of the custom cells the case uses."""
    source = inspect.getsource(repro_harness)
    harness = source[source.index(HARNESS_MARKER):]
    return (framework_ops_source(ops_needed) + "\n\n\n" if custom else "") + harness.rstrip("\n")


# ---- words -----------------------------------------------------------------------------------------


