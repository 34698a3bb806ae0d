"""Standalone reproducers for discrepancies: DIR/repro/d-XXXX.py, a bug report d-XXXX.md beside it,
and d-XXXX.npz beside them where the data is large.

A reproducer is what a maintainer can paste into an upstream bug report. It imports NumPy, the
oracle's package and the implementation's (found by --impl NAME at run time), never rnnconf; it
builds the layer with plain API calls, sets the case's weights, feeds its inputs, masks, initial
states and constants as literals, runs every step of the case on both sides, prints what differs
and exits 1 while anything does (0 once fixed; 2 when a side cannot be imported). It runs from any
directory: the only file it reads is its .npz, found beside itself.

The code is generated from the case by small helpers, one per concern: the layer (_layer_lines, here;
its expression in repro_source.py) and its custom cells (repro_cells.py), one call's arguments
(_call_line), one step (_step_line), a phase of steps on one layer (_phase_lines), the data
(repro_data.py), the comparison (repro_runtime.py's functions, copied by repro_harness.py), the
docstring and the bug report (repro_words.py).
The data is computed here with rnnconf.engine.cases' own functions (inputs_for, mask_for,
initial_state_for, random_states, part_weights), so the script feeds both sides exactly the arrays
rnnconf.engine.execute.run fed them; the weight shapes come from building the case on the NumPy
reference, which lays its weights out as tf_keras does. The judgement is compare.py's, written
inline: error classes (and, for a catalogued error path, the facts its message states), nesting,
shapes, dtypes, then values within the rounding bound. Not reproduced: the float32 recheck against
the oracle in float64 (compare.float64_recheck), so a float32 result that only the recheck would
pass counts as a difference.
"""
import json
import os

import numpy as np

from rnnconf.engine import compare, execute, judge as judgement
from rnnconf.engine.cases import (flag, initial_state_for, inputs_for, is_stochastic, mask_for, normalize,
                                  part_weights, perturbed, reset_states_for, stateful_batch_shape, step_rng)
from . import snippet
from .repro_cells import _custom_cell_source, _factory_name, _ops_needed
from .repro_data import _Data
from .repro_harness import _facts_of, _harness, _imports, _recorded_oracle_error, _settings
from .repro_source import _call_source, _class_name, _dtype_kw, _indent, _layer_args, _py, _target, runnable
from .repro_words import _docstring, _first_sentence, report


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
    short, why_not = short_snippet(item, impl, oracle)
    snippet_path = os.path.splitext(path)[0] + ".snippet.py"
    if short is not None:
        with open(snippet_path, "w") as f:
            f.write(short)
    elif os.path.exists(snippet_path):
        os.remove(snippet_path)
    with open(os.path.splitext(path)[0] + ".md", "w") as f:
        f.write(report(item, impl, oracle, text, versions, npz=stem + ".npz" if arrays else None,
                       short=short, why_not=why_not))
    return path


def short_snippet(item, impl, oracle):
    """(the short snippet in the implementation's own API that leads the bug report, or None; why
    there is none). A snippet that does not fail on the implementation from an empty directory is
    not used: its ramp weights or rounded data may miss the bug (reports/snippet.py)."""
    try:
        text = snippet.snippet(item, impl, oracle)
    except snippet.NoSnippet as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - the full script still stands: say why there is no snippet
        return None, f"writing it failed ({type(e).__name__}: {_first_sentence(str(e))})"
    status, said = snippet.check(text, impl)
    if status == 0:
        return None, "the short form (ramp weights, data rounded) does not show the difference: see the full script"
    last = (said or "timed out").strip().splitlines()[-1] if (said or "").strip() else "timed out"
    if status is None or "AssertionError" not in said:
        # It stopped before asserting (an import, or an argument the short form passes another way):
        # it does not show the bug.
        return None, f"run against {impl} here it stops before its assertions ({_first_sentence(last)})"
    return text, None


def suite_item(cause):
    """A suite root cause (rnnconf.engine.root_causes.root_causes) as the discrepancy item write() takes."""
    return {"id": cause["id"], "kind": cause["kind"] if cause["kind"] in judgement.KIND_ORDER else "value",
            "config": cause["config"], "clauses": cause["clauses"], "repro": cause["repro"],
            "detail": cause.get("detail", ""), "mismatches": [], "tests": cause.get("tests") or []}


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
    data = _Data()
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
    needs_tensor = "tensors(" in uses
    definitions, arrays = data.code(npz_name, order=uses)
    kind = item.get("kind", "value")
    module, environment = runnable(impl)
    header = "\n".join(["#!/usr/bin/env python", _docstring(item, case, impl, oracle, npz_name if arrays else None),
                        _imports(bool(arrays) or bool(environment), bool(variants), kind == "timeout")])
    settings = [f"IMPL = {_py(module)}\nORACLE = {_py(oracle)}", definitions, _rounding_steps_line(case)]
    if environment:
        settings.insert(0, f"# The implementation as target {impl} runs it (set before it is imported):\n" + "\n".join(
            f"os.environ.setdefault({_py(k)}, {_py(v)})" for k, v in environment.items()))
    gradients = "differentiate(" in uses
    settings.append(_settings(case, facts, kind == "timeout", stochastic=is_stochastic(case),
                              undecided=is_stochastic(case) and kind == "value", gradients=gradients))
    functions = [_custom_cell_source(variant, case) for variant in variants]
    functions.append('def run(layers, steps):\n    """The case on the namespace `layers`; each step\'s result '
                     'goes to `steps`."""\n' + _indent(uses))
    functions.append(_harness(needs_tensor, bool(variants), _ops_needed(variants), facts, kind == "timeout",
                              stateful="stateful_layer(" in uses, gradients=gradients))
    text = header + "\n\n" + "\n\n".join(settings) + "\n\n\n" + "\n\n\n".join(functions) + "\n"
    return text, arrays


def _layer_lines(case):
    lines = []
    for variant in sorted({c["variant"] for c in case["cells"] if c["kind"] == "custom"}):
        lines.append(f"{_class_name(variant)} = {_factory_name(variant)}(layers)")
    name, kwargs, cells = _layer_args(case)
    batch_shape = stateful_batch_shape(case)
    # A stateful layer is made by build(), given its batch size as cases.build_layer gives it.
    head, column = ("return " + name, 8) if batch_shape else ("layer = " + name, 4)
    kwargs = kwargs + (["**batch_size"] if batch_shape else [])
    made = []
    if cells is None:
        made.append(_call_source(head, kwargs, column=column))
    else:
        exprs, as_list = cells
        if as_list and len(", ".join(exprs)) > 60:
            made.append(_call_source("cells = ", exprs, brackets="[]", column=column))
            made.append(_call_source(head, ["cells"] + kwargs, column=column))
        else:
            made.append(_call_source(head, [f"[{', '.join(exprs)}]" if as_list else exprs[0]] + kwargs,
                                     column=column))
    if batch_shape:
        lines.append("def build(**batch_size):")
        lines += ["    " + line for line in made]  # continuation lines are aligned for column 8 already
        lines.append(f"layer = stateful_layer(build, batch_input_shape={_py(batch_shape)})")
    else:
        lines += made
    if case["embedding"]:
        dtype = _dtype_kw(case)
        args = [_py(case["embedding"]["vocab"]), _py(case["features"][0]), "mask_zero=True"] + dtype
        lines.append(_call_source("embedding = layers.Embedding", args))
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
        if _differentiates(case, step):
            # The same call, differentiated: the script computes the gradients on both sides.
            x, kwargs = _call_parts(case, index, step, data, prefix, calls)
            return _call_source("differentiate", ["steps", "layers", "layer", x, f"at={index}"] + kwargs)
        return f"steps.add({_call_line(case, index, step, data, prefix, calls)})"
    if op == "states":
        return "steps.add(states_of(layer), read=True)"
    if op == "reset":
        what = step.get("states")
        states = "" if what is None else data.add(f"{prefix}RESET{index}", reset_states_for(case, index, what))
        return f"layer.reset_states({states})\nsteps.add(None)  # a reset has no result"
    raise ValueError(f"unknown step op {op!r}")


def _differentiates(case, step):
    """Whether execute.Runner differentiates this call (a case with `gradients`)."""
    return bool(case.get("gradients")) and not case["embedding"] and not step.get("list_input")


def _call_parts(case, index, step, data, prefix, calls):
    """(the input's name, the keyword arguments' source) of a call that is not a list input."""
    line = _call_line(case, index, step, data, prefix, calls, parts=True)
    return line[0], line[1]


def _call_line(case, index, step, data, prefix, calls=1, column=14, parts=False):
    """`layer(...)` for one call step: its inputs, the case's mask, training, initial_state and
    constants (execute.Runner.call); with `parts`, (input, [keyword argument sources]) instead."""
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
        kwargs.append(f"training={_py(case['training'])}")
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
        return _call_source("layer", ["[" + ", ".join(items) + "]"] + kwargs, column=column)
    if states is not None:
        kwargs.append(f"initial_state={states}")
    if constants is not None:
        kwargs.append(f"constants={constants}")
    if parts:
        return x, kwargs
    inputs = f"embedding({x})" if case["embedding"] else x
    return _call_source("layer", [inputs] + kwargs, column=column)


def _rounding_steps_line(case):
    steps = case["steps"] or [{"op": "call"}]
    counts = [compare.recurrent_steps(case, i) for i in range(len(steps))]
    return ("# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states\n"
            f"# it carries), which the value bound below grows with.\nROUNDING_STEPS = {counts}")
