"""Standalone reproducers for discrepancies: DIR/repro/d-XXXX.py, a bug report d-XXXX.md beside it,
and d-XXXX.npz beside them where the data is large.

A reproducer is what a maintainer can paste into an upstream bug report. It imports NumPy, the
oracle's package and the implementation's (found by --impl NAME at run time), never rnnconf; it
builds the layer with plain API calls, sets the case's weights, feeds its inputs, masks, initial
states and constants as literals, runs every step of the case on both sides, prints what differs
and exits 1 while anything does (0 once fixed; 2 when a side cannot be imported). It runs from any
directory: the only file it reads is its .npz, found beside itself.

The code is generated from the case by small helpers, one per concern: the layer (_layer_lines) and
its custom cells (_custom_cell_source), one call's arguments (_call_line), one step (_step_line), a
phase of steps on one layer (_phase_lines), the data (_Data), the comparison (the fixed _HARNESS_*
texts).
The data is computed here with conformance.cases' own functions (inputs_for, mask_for,
initial_state_for, random_states, part_weights), so the script feeds both sides exactly the arrays
conformance.execute.run fed them; the weight shapes come from building the case on the NumPy
reference, which lays its weights out as tf_keras does. The judgement is compare.py's, written
inline: error classes (and, for a catalogued error path, the facts its message states), nesting,
shapes, dtypes, then values within the rounding bound. Not reproduced: the float32 recheck against
the oracle in float64 (compare.float64_recheck), so a float32 result that only the recheck would
pass counts as a difference.
"""
import json
import os
import re

import numpy as np

from conformance import compare, custom_cells, error_catalog, execute, judge as judgement, namespaces
from conformance.cases import (BUILTIN_LAYERS, CELL_CLASSES, cell_kwargs, cell_state_dims, flag, initial_state_for,
                               inputs_for, is_stochastic, layer_flags, mask_for, normalize, part_weights, perturbed,
                               reset_states_for, stateful_batch_shape, step_rng)

LITERAL_LIMIT = 200  # numbers of data beyond which the float arrays go to the .npz
WIDTH = 100
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
    not used: its ramp weights or rounded data may miss the bug (fuzz/snippet.py)."""
    from . import snippet
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
    """A suite root cause (conformance.results.root_causes) as the discrepancy item write() takes."""
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
    if "differentiate(" in uses:
        settings.append(_gradient_settings(case))
    if environment:
        settings.insert(0, f"# The implementation as target {impl} runs it (set before it is imported):\n" + "\n".join(
            f"os.environ.setdefault({_py(k)}, {_py(v)})" for k, v in environment.items()))
    if is_stochastic(case):
        settings.append("# Dropout while training: both sides draw random masks, so values are not compared here\n"
                        "# (rnnconf compares their distributions, over hundreds of samples a side).\n"
                        "VALUES_COMPARED = False")
    functions = [_custom_cell_source(variant, case) for variant in variants]
    functions.append('def run(layers, steps):\n    """The case on the namespace `layers`; each step\'s result '
                     'goes to `steps`."""\n' + _indent(uses))
    functions.append(_harness(needs_tensor, bool(variants), _ops_needed(variants), facts, kind == "timeout",
                              stochastic=is_stochastic(case), undecided=is_stochastic(case) and kind == "value",
                              stateful="stateful_layer(" in uses, gradients="differentiate(" in uses))
    text = header + "\n\n" + "\n\n".join(settings) + "\n\n\n" + "\n\n\n".join(functions) + "\n"
    return text, arrays


def runnable(impl):
    """(the module the script imports for `impl`, the environment variables it needs): a target
    (rnnconf/targets.py) names its module and its variables (KERAS_BACKEND), `IMPL@PYTHON` its module."""
    from rnnconf import targets
    spec = targets.TARGETS.get(impl)
    if spec is not None:
        return spec.impl, dict(spec.env)
    split = targets.split_remote(impl)
    return (split[0] if split else impl), {}


def _where_to_run(impl):
    """The docstring's words on the environment the script needs, for a target; else None."""
    from rnnconf import targets
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


def _indent(text, spaces=4):
    return "\n".join((" " * spaces + line) if line else line for line in text.split("\n"))


def _py(value):
    """Python source for a plain value, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_py(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)


# ---- the layer -------------------------------------------------------------------------------------
def _dtype_kw(case):
    return [] if case["dtype"] == "float32" else [f"dtype={_py(case['dtype'])}"]


def _cell_kwargs(cell, case):
    # The options cases.build_layer passes: none at its default unless the case is about it.
    return [f"{k}={_py(v)}" for k, v in cell_kwargs(cell, case).items()]


def _flag_kwargs(case):
    return [f"{k}={_py(v)}" for k, v in layer_flags(case).items()]


def _cell_expr(cell, case, features, prefix="layers."):
    dtype = _dtype_kw(case)
    if cell["kind"] == "custom":
        rows = [f"rows={features[0]}"] if cell["variant"] == "hd_state" else []
        return f"{_class_name(cell['variant'])}({', '.join([_py(cell['units'])] + rows + dtype)})"
    args = [_py(cell["units"])] + _cell_kwargs(cell, case) + dtype
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
    kwargs = _flag_kwargs(case) + _dtype_kw(case)
    if case["layer"] in BUILTIN_LAYERS:
        cell = case["cells"][0]
        return f"{prefix}{case['layer']}", [_py(cell["units"])] + _cell_kwargs(cell, case) + kwargs, None
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


def _call_source(head, args, brackets="()", column=4):
    """`head(args)` on one line, or wrapped with the arguments aligned after the bracket. `column`
    is where `head` starts in the file; the text is for run()'s body, which is indented by 4."""
    one = f"{head}{brackets[0]}{', '.join(args)}{brackets[1]}"
    if column + len(one) <= WIDTH:
        return one
    start = column + len(head) + 1
    lines, line = [], ""
    for k, arg in enumerate(args):
        piece = arg + ("," if k < len(args) - 1 else brackets[1])
        if line and start + len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return head + brackets[0] + ("\n" + " " * (start - 4)).join(lines)


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
        if _differentiates(case, step):
            # The same call, differentiated: the script computes the gradients on both sides.
            x, kwargs = _call_parts(case, index, step, data, prefix, calls)
            return _call_source("differentiate", ["steps", "layers", "layer", x, f"at={index}"] + kwargs)
        return f"steps.add({_call_line(case, index, step, data, prefix, calls)})"
    if op == "states":
        return "steps.add(list(layer.states), read=True)"
    if op == "reset":
        what = step.get("states")
        states = "" if what is None else data.add(f"{prefix}RESET{index}", reset_states_for(case, index, what))
        return f"layer.reset_states({states})\nsteps.add(None)  # a reset has no result"
    raise ValueError(f"unknown step op {op!r}")


def _flat(x):
    return [leaf for item in x for leaf in _flat(item)] if isinstance(x, (list, tuple)) else [x]


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


# ---- data ------------------------------------------------------------------------------------------
class _Data:
    """The arrays the script uses (an array, or a list of arrays, per name), in order of first use;
    equal values share one name."""

    def __init__(self):
        self.items = []
        self.notes = {}  # name -> a comment above its definition

    def add(self, name, value):
        for known, held in self.items:
            if _same(held, value):
                return known
        taken = {n for n, _ in self.items}
        unique, k = name, 2
        while unique in taken:
            unique, k = f"{name}_{k}", k + 1
        self.items.append((unique, value))
        return unique

    def float_count(self):
        return sum(a.size for _, v in self.items for a in _flat(v) if np.issubdtype(a.dtype, np.floating))

    def code(self, npz_name, order=""):
        """(the definitions' source, the arrays stored in the .npz): float arrays go there when
        there are more than LITERAL_LIMIT numbers and `npz_name` is given. Definitions come in the
        order their names first appear in `order` (the code that uses them)."""
        to_file = npz_name is not None and self.float_count() > LITERAL_LIMIT
        stored, lines = {}, []
        if to_file:
            lines.append("# The arrays are in the .npz beside this script.")
            lines.append(f"DATA = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {_py(npz_name)}))")

        def source(key, array, column):
            if to_file and np.issubdtype(array.dtype, np.floating):
                stored[key] = array
                return f"DATA[{_py(key)}]"
            return _literal(array, column)
        def first_use(item):
            found = re.search(rf"\b{item[0]}\b", order)
            return found.start() if found else len(order)
        for name, value in sorted(self.items, key=first_use):
            if name in self.notes:
                lines.append(f"# {self.notes[name]}")
            lines.append(f"{name} = {_nest_code(value, 0, len(name) + 3, name, source)}")
        return "\n".join(lines), stored


def _nest_code(value, indent, column, key, source):
    """Source for an array, or a list / tuple nest of them (weights, initial states, constants)."""
    if not isinstance(value, (list, tuple)):
        return source(key, value, column)
    brackets = "[]" if isinstance(value, list) else "()"
    items = [_nest_code(v, indent + 4, indent + 4, f"{key}_{k}", source) for k, v in enumerate(value)]
    single = "," if isinstance(value, tuple) and len(value) == 1 else ""
    one = brackets[0] + ", ".join(items) + single + brackets[1]
    if "\n" not in one and column + len(one) <= WIDTH:
        return one
    pad = " " * (indent + 4)
    return brackets[0] + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + brackets[1]


def _same(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def _number(value, dtype):
    """A value as Python source that gives back exactly `value` once cast to `dtype`."""
    if dtype.kind == "b":
        return "1" if value else "0"
    if dtype.kind in "iu":
        return str(int(value))
    if not np.isfinite(value):
        return "np.nan" if np.isnan(value) else ("np.inf" if value > 0 else "-np.inf")
    if dtype == np.float64:
        return repr(float(value))
    text = str(dtype.type(value))  # NumPy's shortest repr for the dtype
    if dtype.type(float(text)) != value:  # parsed through a double it must round back to the value
        text = repr(float(value))
    return text


def _literal(array, column):
    """np.array(...) source for `array`; continuation lines align under its brackets, whose first
    sits at `column` + len("np.array(")."""
    array = np.asarray(array)
    dtype = array.dtype
    suffix = {"float64": "", "bool": ", dtype=bool"}.get(dtype.name, f", dtype=np.{dtype.name}")
    if array.size == 0:
        return f"np.zeros({_py(tuple(array.shape))}{suffix or ', dtype=np.float64'})"
    start = column + len("np.array(")
    # The closing brackets, the dtype and a list's comma follow the last row on its line.
    return f"np.array({_nested(array, start, dtype, len(suffix) + 2)}{suffix})"


def _nested(array, column, dtype, tail):
    """The nested list of `array`'s values, rows wrapped at WIDTH; `tail` characters follow its last
    row on the same line."""
    if array.ndim == 0:
        return _number(array.item(), dtype)
    if array.ndim == 1:
        items = [_number(v, dtype) for v in array]
        lines, line = [], "["
        for k, item in enumerate(items):
            last = k == len(items) - 1
            piece = item + ("]" if last else ", ")
            room = len(piece.rstrip()) + (tail if last else 0)
            if line.strip() not in ("", "[") and column + len(line) + room > WIDTH:
                lines.append(line.rstrip())
                line = " " + piece
            else:
                line += piece
        lines.append(line)
        return ("\n" + " " * column).join(lines)
    inner = [_nested(sub, column + 1, dtype, 1 if k < len(array) - 1 else tail + 1) for k, sub in enumerate(array)]
    return "[" + (",\n" + " " * (column + 1)).join(inner) + "]"


# ---- custom cells ----------------------------------------------------------------------------------
def _class_name(variant):
    return "".join(part.title() for part in variant.split("_")) + "Cell"


def _factory_name(variant):
    return f"{variant}_cell"


_MULTI = ("multi_state", "multi_no_out", "few_states")
_CALLS = {  # the call of each variant of conformance/custom_cells.py, over `core` (x @ kernel + h @ recurrent)
    "minimal": ["def call(self, inputs, states):",
                "    output = self._core(inputs, states[0])  # linear, as the API page's MinimalRNNCell",
                "    return output, [output]"],
    "multi_state": ["def call(self, inputs, states):",
                    "    h, c = states[0], states[1]",
                    "    h_new = ops.tanh(self._core(inputs, h) + ops.dot(c, self.carry_in))",
                    "    c_new = ops.tanh(ops.dot(h_new, self.carry_out) + c)",
                    "    return h_new, [h_new, c_new]"],
    "few_states": ["def call(self, inputs, states):",
                   "    h_new = ops.tanh(self._core(inputs, states[0]))",
                   "    return h_new, [h_new]  # one state, though state_size declares two"],
    "tanh": ["def call(self, inputs, states):",
             "    output = ops.tanh(self._core(inputs, states[0]))",
             "    return output, [output]"],
    "bare_state": ["def call(self, inputs, states):",
                   "    output = ops.tanh(self._core(inputs, states[0]))",
                   "    return output, output  # the one new state as a tensor, not in a list"],
    "bad_state": ["def call(self, inputs, states):",
                  "    output = ops.tanh(self._core(inputs, states[0]))",
                  "    widen = ops.fill([self.units, self.units + 2], 0.1, output.dtype)",
                  "    return output, [ops.dot(output, widen)]  # two columns wider than state_size"],
    "constants": ["def call(self, inputs, states, constants=None):",
                  "    constant = ops.dot(constants[0], self.constant_kernel)",
                  "    output = ops.tanh(self._core(inputs, states[0]) + constant)",
                  "    return output, [output]"],
    "constants_bare_state": ["def call(self, inputs, states, constants=None):",
                             "    constant = ops.dot(constants[0], self.constant_kernel)",
                             "    output = ops.tanh(self._core(inputs, states[0]) + constant)",
                             "    return output, output  # the one new state as a tensor, not in a list"],
    "needs_constants": ["def call(self, inputs, states, constants):  # constants required",
                        "    output = ops.tanh(self._core(inputs, states[0]))",
                        "    return output, [output]"],
    "training": ["def call(self, inputs, states, training=None):",
                 "    output = ops.tanh(self._core(inputs, states[0]))",
                 "    if training:",
                 "        output = output * ops.cast_like(2.0, output)",
                 "    return output, [output]"],
}
_CALLS["multi_no_out"] = _CALLS["multi_state"]
_CALLS["hd_state"] = _CALLS["init_state"] = _CALLS["tanh"]
_DESCRIPTIONS = {
    "minimal": "the API page's MinimalRNNCell (an int state_size, no output_size)",
    "multi_state": "two states, of units and units + 1, and an output_size",
    "multi_no_out": "two states, of units and units + 1, and no output_size",
    "hd_state": "a (rows, units) state and output",
    "init_state": "its own get_initial_state, 0.5 everywhere",
    "constants": "constants feed every step",
    "constants_bare_state": "constants feed every step; returns its one new state as a tensor, not in a list",
    "training": "its output doubled when training",
    "bare_state": "returns its one new state as a tensor, not in a list",
    "few_states": "returns one state while declaring two",
    "bad_state": "returns a state of the wrong width",
    "needs_constants": "constants as a required argument",
}


def _custom_cell_source(variant, case):
    """A factory of the custom cell `variant` (conformance/custom_cells.py) as a subclass of the
    namespace's Layer, its math through the framework's ops."""
    name = _class_name(variant)
    init = ["def __init__(self, units, rows=2, **kwargs):" if variant == "hd_state" else
            "def __init__(self, units, **kwargs):",
            "    super().__init__(**kwargs)",
            "    self.units = units"]
    if variant in _MULTI:
        init.append("    self.state_size = [units, units + 1]")
    elif variant == "hd_state":
        init.append("    self.state_size = ops.shape([rows, units])")
    else:
        init.append("    self.state_size = units")
    if variant == "multi_state":
        init.append("    self.output_size = units")
    elif variant == "hd_state":
        init.append("    self.output_size = ops.shape([rows, units])")
    build = ["def build(self, input_shape):"]
    if case["constants"]:
        build += ["    if isinstance(input_shape, list):  # the constants' shapes come along",
                  "        input_shape = input_shape[0]"]
    build += ["    u = self.units",
              '    self.kernel = self.add_weight(shape=(int(input_shape[-1]), u), name="kernel")',
              '    self.recurrent_kernel = self.add_weight(shape=(u, u), name="recurrent_kernel")']
    if variant in _MULTI:
        build += ['    self.carry_in = self.add_weight(shape=(u + 1, u), name="carry_in")',
                  '    self.carry_out = self.add_weight(shape=(u, u + 1), name="carry_out")']
    if variant in custom_cells.CONSTANTS_VARIANTS:
        build += ["    # the constant has `units` features",
                  '    self.constant_kernel = self.add_weight(shape=(u, u), name="constant_kernel")']
    build.append("    self.built = True")
    core = ["def _core(self, inputs, h):",
            "    return ops.dot(inputs, self.kernel) + ops.dot(h, self.recurrent_kernel)"]
    methods = [init, build, core, _CALLS[variant]]
    if variant == "init_state":
        methods.append(["def get_initial_state(self, inputs=None, batch_size=None, dtype=None):",
                        "    return ops.fill([batch_size, self.units], 0.5, dtype)"])
    cls = f"class {name}(layers.Layer):\n" + "\n\n".join(_indent("\n".join(m)) for m in methods)
    return (f"def {_factory_name(variant)}(layers):\n"
            f'    """{name}: {_DESCRIPTIONS[variant]}."""\n'
            "    ops = framework_ops(layers)\n\n"
            f"{_indent(cls)}\n"
            f"    return {name}")


def _ops_needed(variants):
    needed = {"dot", "tanh"} if variants else set()
    for v in variants:
        needed |= {"bad_state": {"fill"}, "init_state": {"fill"}, "training": {"cast_like"},
                   "hd_state": {"shape"}}.get(v, set())
    return needed


_OPS = {  # framework: op -> source at an indent of 12 (the adapters of conformance/namespaces.py)
    "tf_keras": {
        "dot": "dot=lambda x, w: tf.tensordot(x, w, axes=1)",
        "tanh": "tanh=tf.tanh",
        "fill": "fill=lambda dims, value, dtype: tf.fill(tf.stack(dims), tf.cast(value, dtype))",
        "cast_like": "cast_like=lambda value, x: tf.cast(value, x.dtype)",
        "shape": "shape=tf.TensorShape",
    },
    "keras": {
        "dot": "dot=lambda x, w: k.tensordot(x, w, axes=1)",
        "tanh": "tanh=k.tanh",
        "fill": "fill=lambda dims, value, dtype: k.full([int(d) for d in dims], value, dtype=dtype)",
        "cast_like": "cast_like=lambda value, x: k.cast(value, x.dtype)",
        "shape": "shape=tuple",
    },
    "numpy": {
        "dot": "dot=lambda x, w: x @ w",
        "tanh": "tanh=np.tanh",
        "fill": "fill=lambda dims, value, dtype: np.full([int(d) for d in dims], value, np.dtype(dtype))",
        "cast_like": "cast_like=lambda value, x: np.asarray(value, x.dtype)",
        "shape": "shape=tuple",
    },
}


def _framework_ops_source(needed):
    order = [op for op in ("dot", "tanh", "fill", "cast_like", "shape") if op in needed]

    def table(framework):
        return "SimpleNamespace(\n" + "".join(f"            {_OPS[framework][op]},\n" for op in order) + "        )"
    math = [op for op in order if op != "shape"]
    own = "".join(f"            {op}=layers.ops.{op},\n" for op in math) + (
        "            shape=ops.shape,\n" if "shape" in needed else "")
    lines = [
        "def framework_ops(layers):",
        '    """The custom cells\' math in the framework under `layers` (a namespace\'s own `ops` and',
        '    `TensorShape` win): the cell runs inside the layer, on its tensors."""',
        '    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")',
        "    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):",
        "        import tensorflow as tf  # tf_keras' own framework",
        "",
        "        ops = " + table("tf_keras"),
        '    elif keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):',
        "        k = keras.ops",
        "        ops = " + table("keras"),
        "    else:",
        "        ops = " + table("numpy"),
        '    if getattr(layers, "ops", None) is not None:',
        "        ops = SimpleNamespace(\n" + own + "        )",
    ]
    if "shape" in needed:
        lines += ['    if getattr(layers, "TensorShape", None) is not None:',
                  "        ops.shape = layers.TensorShape"]
    lines.append("    return ops")
    return "\n".join(lines)


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
def _imports(npz, custom, timeout):
    names = ["argparse", "importlib"] + (["os"] if npz or timeout else []) + ["re"] \
        + (["signal"] if timeout else []) + ["sys"]
    lines = [f"import {n}" for n in names]
    if custom:
        lines.append("from types import SimpleNamespace")
    return "\n".join(lines) + "\n\nimport numpy as np"


def _harness(tensor, custom, ops_needed, facts, timeout, stochastic, undecided, stateful=False, gradients=False):
    parts = [_HARNESS_NAMESPACE]
    if stateful:
        parts.append(_HARNESS_STATEFUL)
    if gradients:
        parts.append(_gradient_harness())
    if tensor:
        parts.append(_HARNESS_TENSOR)
    if custom:
        parts.append(_framework_ops_source(ops_needed))
    parts.append(_HARNESS_RUN)
    compare_values = "VALUES_COMPARED and " if stochastic else ""
    compare = _HARNESS_COMPARE.replace("@VALUES@", compare_values)
    if gradients:
        assert _COMPARE_STEP_END.replace("@VALUES@", compare_values) in compare  # the anchor of the insertion
        compare = compare.replace(_COMPARE_STEP_END.replace("@VALUES@", compare_values),
                                  _COMPARE_STEP_END.replace("@VALUES@", compare_values) + _COMPARE_GRADIENTS)
        compare += "\n\n\n" + _HARNESS_GRADIENT_COMPARE
    parts.append(compare)
    parts.append(_HARNESS_ERRORS)
    if facts:
        err_id, pattern, names = facts
        parts.append(_HARNESS_FACTS.replace("@ERR@", err_id).replace("@PATTERN@", _raw(pattern))
                     .replace("@NAMES@", _py(tuple(names))))
    else:
        parts.append("def facts_difference(i, expected, actual):\n    return []  # no catalogued facts to "
                     "compare: the class is what counts")
    alarm = ""
    if timeout:
        alarm = ('        if role == "implementation":  # a hang of the implementation ends the script\n'
                 "            signal.signal(signal.SIGALRM, hung)\n            signal.alarm(60)\n")
        parts.append(_HARNESS_TIMEOUT)
    main = _HARNESS_MAIN.replace("@ALARM@", alarm)
    if gradients:
        assert _MAIN_LISTING in main  # the anchor of the insertion
        main = main.replace(_MAIN_LISTING, _MAIN_LISTING + _MAIN_GRADIENTS)
    if undecided:  # a difference of distributions: what this script cannot test, it does not pass
        main = main.replace('''    for line in found:''', '''    if not found:
        print("values not compared: the discrepancy is in their distribution under dropout, which only "
              "rnnconf's sampled check tests; the structure agrees")
        return 2
    for line in found:''')
    parts.append(main)
    return "\n\n\n".join(parts)


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


# ---- gradients (conformance/gradients.py) ------------------------------------------------------------
def _gradient_settings(case):
    from conformance import compare as compare_module
    return (f"# The loss differentiated: sum(c * y) over every returned tensor y, c drawn per call from\n"
            f"# this seed (rnnconf's conformance/gradients.py cotangents_for); gradients are held to\n"
            f"# GRADIENT_STEPS times each step's rounding steps.\nSEED = {case['seed']}\n"
            f"GRADIENT_STEPS = {compare_module.GRADIENT_STEPS_FACTOR}")


def _gradient_harness():
    """The script's differentiation: the namespace's own rnnconf_gradients hook, else the default of
    the framework it is built on, the very functions rnnconf runs (their source, copied)."""
    import inspect

    from conformance import gradients
    sources = [inspect.getsource(f) for f in (gradients.flat_leaves, gradients._trainable, gradients.tf_gradients,
                                              gradients.jax_gradients, gradients.torch_gradients,
                                              gradients._rebuild)]
    return _HARNESS_GRADIENTS + "\n\n\n" + "\n\n".join(s.rstrip() for s in sources)


_HARNESS_GRADIENTS = '''\
def cotangents_at(at):
    """The loss's weights c for the results of the call at step `at`."""
    def cotangents(flat):
        rng = np.random.default_rng([SEED, at, 5])
        return [rng.standard_normal(np.shape(y)).astype(np.asarray(y).dtype if np.asarray(y).dtype.kind == "f"
                                                           else np.float32) for y in flat]
    return cotangents


def differentiate(steps, layers, layer, x, at, **kwargs):
    """Call `layer` on `x` and differentiate the loss: the result goes to `steps`, its gradients
    (inputs, each initial state, each constant, each trainable weight) to steps.gradients."""
    result, grads = gradients_of(layers)(layer, x, kwargs, cotangents_at(at))
    named = [("d inputs", grads.get("inputs"))] + [
        (f"d {key}[{i}]", g) for key in ("initial_state", "constants", "weights") for i, g in enumerate(grads.get(key) or [])]
    if not hasattr(steps, "gradients"):
        steps.gradients = {}
    steps.gradients[len(steps)] = [(name, numpy_of(g)) for name, g in named]
    steps.add(result)


def gradients_of(layers):
    """How to differentiate a layer of `layers`: its own hook, or its framework's automatic
    differentiation (tf.GradientTape, jax.vjp, torch autograd)."""
    own = getattr(layers, "rnnconf_gradients", None)
    if own is not None:
        return own
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        return tf_gradients
    if keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):
        found = {"tensorflow": tf_gradients, "jax": jax_gradients, "torch": torch_gradients}.get(keras.backend.backend())
        if found is not None:
            return found
    raise NotImplementedError("no automatic differentiation known for this namespace")'''

_COMPARE_STEP_END = '''            elif @VALUES@(difference := value_difference(x, y, ROUNDING_STEPS[i])):
                found.append(f"step {i} {path}: {difference}")
'''
_COMPARE_GRADIENTS = '''        found += gradient_differences(i, expected, actual)
'''
_MAIN_LISTING = '''        for i, result in enumerate(sides[-1]):
            print(f"  step {i}: {describe(result)}")
'''
_MAIN_GRADIENTS = '''    print_gradient_differences(*sides)
'''

_HARNESS_GRADIENT_COMPARE = '''\
def paired_gradients(i, expected, actual):
    """(name, oracle's, implementation's) per gradient of step i; None (disconnected) is zeros."""
    mine, theirs = getattr(actual, "gradients", {}).get(i), getattr(expected, "gradients", {}).get(i)
    if mine is None or theirs is None:
        return []
    pairs = []
    for (name, e), (_, a) in zip(theirs, mine):
        if e is None and a is None:
            continue
        pairs.append((name, np.zeros_like(a) if e is None else e, np.zeros_like(e) if a is None else a))
    return pairs


def gradient_differences(i, expected, actual):
    found = []
    mine, theirs = getattr(actual, "gradients", {}).get(i), getattr(expected, "gradients", {}).get(i)
    if (mine is None) != (theirs is None) or (mine and [n for n, _ in mine] != [n for n, _ in theirs]):
        return [f"step {i}: expected gradients of {[n for n, _ in theirs or []]}, got {[n for n, _ in mine or []]}"]
    for name, e, a in paired_gradients(i, expected, actual):
        if e.shape != a.shape or e.dtype != a.dtype:
            found.append(f"step {i} {name}: expected {describe(e)}, got {describe(a)}")
        elif (difference := value_difference(e, a, GRADIENT_STEPS * ROUNDING_STEPS[i])):
            found.append(f"step {i} {name}: {difference}")
    return found


def print_gradient_differences(expected, actual):
    """Per differentiated call, each gradient's largest difference between the two sides."""
    for i in sorted(getattr(expected, "gradients", {})):
        for name, e, a in paired_gradients(i, expected, actual):
            if e.shape == a.shape:
                diff = float(np.abs(e.astype(np.float64) - a.astype(np.float64)).max()) if e.size else 0.0
                print(f"  step {i} {name}: max abs difference {diff:.3g} (largest |oracle's| "
                      f"{float(np.abs(e).max()) if e.size else 0.0:.3g})")'''


_HARNESS_NAMESPACE = '''\
# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers'''

_HARNESS_STATEFUL = '''\
def stateful_layer(build, batch_input_shape):
    """build(batch_input_shape=...): a stateful layer given its batch size Keras 2's way; where the
    namespace has no such argument (Keras 3), build(): the layer's first call fixes its batch size."""
    try:
        return build(batch_input_shape=batch_input_shape)
    except (TypeError, ValueError) as error:
        if "batch_input_shape" not in str(error):
            raise
    return build()'''

_HARNESS_TENSOR = '''\
def tensors(layers, nest):
    """Initial states or constants (nested as given) for `layers`: tf_keras takes NumPy inputs and
    masks, but wants tensors here."""
    if isinstance(nest, (list, tuple)):
        return type(nest)(tensors(layers, x) for x in nest)
    tf_keras = sys.modules.get("tf_keras")
    if getattr(layers, "rnnconf_to_tensor", None) is not None:  # a namespace's own conversion
        return layers.rnnconf_to_tensor(nest)
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        return tf_keras.backend.constant(nest, dtype=nest.dtype.name)
    return nest'''

_HARNESS_RUN = '''\
class Steps(list):
    """Each step's result as NumPy arrays, copied when made (a layer's states change later)."""
    read = ()  # indices of the steps that read layer.states

    def add(self, result, read=False):
        if read:
            self.read = (*self.read, len(self))
        self.append(numpy_of(result))

    def clear(self):
        super().clear()
        self.read = ()


def numpy_of(x):
    if isinstance(x, (list, tuple)):
        return [numpy_of(v) for v in x]
    if x is None:
        return None
    if hasattr(x, "detach") and not isinstance(x, np.ndarray):
        x = x.detach().cpu()  # torch: numpy() refuses a tensor that requires grad
    return np.array(x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x)


def outcome(layers):
    """Each step's result; an error ends the run and is its last entry."""
    steps = Steps()
    try:
        run(layers, steps)
    except Exception as error:  # an error is part of the outcome
        steps.append(error)
    return steps'''

_HARNESS_COMPARE = '''\
def leaves(result, read=False):
    """(path, array) per array of a step's result: "output", then "state[k]" (per cell:
    "state[k][j]"); "layer.states[k]" for a step that read them."""
    if not isinstance(result, list):
        return [("output", result)]
    found = []

    def collect(x, path):
        if isinstance(x, list):
            for j, item in enumerate(x):
                collect(item, f"{path}[{j}]")
        else:
            found.append((path, x))
    for i, item in enumerate(result):
        collect(item, f"layer.states[{i}]" if read else "output" if i == 0 else f"state[{i - 1}]")
    return found


def nesting(result):
    if isinstance(result, list):
        return [nesting(x) for x in result]
    return None if result is None else "array"


def describe(result):
    if isinstance(result, Exception):
        return error_text(result)
    if isinstance(result, list):
        return "[" + ", ".join(describe(x) for x in result) + "]"
    return "None" if result is None else f"{result.dtype}{list(result.shape)}"


def value_difference(expected, actual, steps):
    """None where `actual` is `expected` up to rounding, else by how much and where it is not. The
    bound, per array (rnnconf's compare.py): 32 * eps(dtype) * steps * (1 + max|expected|), and in
    float64 times min(1.3 ** steps, 1e4) (recurrent weights up to 1.3 amplify rounding); NaN and
    inf must sit at the same places."""
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    both = np.isfinite(e) & np.isfinite(a)
    bound = 0.0
    if np.issubdtype(expected.dtype, np.floating):
        growth = min(1.3 ** steps, 1e4) if expected.dtype == np.float64 else 1.0
        scale = np.abs(np.where(both, e, 0)).max()
        bound = 32 * np.finfo(expected.dtype).eps * steps * (1 + scale) * growth
    diff = np.where(both, np.abs(e - a), 0.0)
    bad = np.where(both, diff > bound, (e != a) & ~(np.isnan(e) & np.isnan(a)))
    if not bad.any():
        return None
    at = tuple(int(k) for k in np.argwhere(bad)[0])
    return (f"max abs diff {diff.max():.3g} where rounding allows {bound:.3g}; first at {at}: "
            f"expected {expected[at]}, got {actual[at]}")


def differences(expected, actual):
    """What differs between the oracle's steps and the implementation's, one line each."""
    found = []
    for i, (e, a) in enumerate(zip(expected, actual)):
        if isinstance(e, Exception) or isinstance(a, Exception):
            return found + error_difference(i, e, a)
        if nesting(e) != nesting(a):
            found.append(f"step {i}: expected results {describe(e)}, got {describe(a)}")
            continue
        for (path, x), (_, y) in zip(leaves(e, i in expected.read), leaves(a)):
            if x is None:
                continue
            if x.shape != y.shape or x.dtype != y.dtype:
                found.append(f"step {i} {path}: expected {describe(x)}, got {describe(y)}")
            elif @VALUES@(difference := value_difference(x, y, ROUNDING_STEPS[i])):
                found.append(f"step {i} {path}: {difference}")
    if len(expected) != len(actual) and not found:
        found.append(f"expected {len(expected)} step results, got {len(actual)}")
    return found'''

_HARNESS_ERRORS = '''\
def message(error):
    """An error's message without colour codes or the "Exception encountered" wrapper."""
    text = re.sub(r"\\x1b\\[[0-9;]*m", "", str(error))
    if text.startswith("Exception encountered when calling"):
        parts = text.split("\\n\\n")
        text = parts[1] if len(parts) > 1 else text
    return text


def error_text(error):
    return f"{type(error).__name__}: {message(error)[:300]}"


# TensorFlow-only error classes may be raised as the Python class they mean.
EQUIVALENT = {"InvalidArgumentError": "ValueError", "OutOfRangeError": "IndexError"}


def error_difference(i, expected, actual):
    if not isinstance(expected, Exception):
        return [f"step {i}: the implementation raises {error_text(actual)}; the oracle does not"]
    if not isinstance(actual, Exception):
        return [f"step {i}: the oracle raises {error_text(expected)}; the implementation does not"]
    classes, want = {c.__name__ for c in type(actual).__mro__}, type(expected).__name__
    if want not in classes and EQUIVALENT.get(want) not in classes:
        return [f"step {i}: the oracle raises {error_text(expected)}, "
                f"the implementation {error_text(actual)}"]
    return facts_difference(i, expected, actual)'''

_HARNESS_FACTS = '''\
# The oracle's error states facts from the input (@ERR@ in rnnconf's error catalog).
# The implementation's message must state them too: by name where it has the oracle's wording,
# else anywhere, in order.
FACTS = re.compile(
    @PATTERN@,
    re.S | re.M)
FACT_NAMES = @NAMES@


def facts_difference(i, expected, actual):
    want, got = FACTS.search(message(expected)), FACTS.search(message(actual))
    if want is None:
        return []  # another error than the one this reproducer knows: its class is what counts
    said = tokens(message(actual))
    missing = [f"{name}={want[name]!r}" for name in FACT_NAMES if want[name] is not None and not (
        tokens(got[name]) == tokens(want[name]) if got else contained(tokens(want[name]), said))]
    if not missing:
        return []
    return [f"step {i}: both raise {type(actual).__name__}, but the implementation's message does "
            f"not state {', '.join(missing)}: the oracle says {message(expected)[:300]!r}, the "
            f"implementation {message(actual)[:300]!r}"]


def tokens(text):
    """The numbers and names of a message, without brackets, quotes and wrappers: "(2, 5)" is
    "[2,5]"."""
    noise = {"ListWrapper", "TensorShape", "InputSpec", "shape", "ndim", "array", "dtype"}
    return [t for t in re.findall(r"-?\\d+(?:\\.\\d+)?|[A-Za-z_]\\w*", text or "") if t not in noise]


def contained(needle, haystack):
    n = len(needle)
    return any(haystack[k:k + n] == needle for k in range(len(haystack) - n + 1))'''

_HARNESS_TIMEOUT = '''\
def hung(*_):
    print("the implementation has not finished after 60 s")
    print("discrepancy persists")
    os._exit(1)'''

_HARNESS_MAIN = '''\
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\\n")[0])
    parser.add_argument("--impl", default=IMPL, help="module path (or module:attribute) of a "
                        "layers namespace, or reference, tf_keras, keras3 (default: %(default)s)")
    parser.add_argument("--oracle", default=ORACLE, help="the same, for the expected side "
                        "(default: %(default)s)")
    args = parser.parse_args()
    sides = []
    for role, name in (("oracle", args.oracle), ("implementation", args.impl)):
        try:
            layers = namespace(name)
        except (ImportError, AttributeError) as e:
            parser.error(f"cannot load {name}: {e}")
@ALARM@        sides.append(outcome(layers))
        print(f"== {role} ({name})")
        for i, result in enumerate(sides[-1]):
            print(f"  step {i}: {describe(result)}")
    found = differences(*sides)
    for line in found:
        print(line)
    print("discrepancy persists" if found else "no discrepancy: both sides agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())'''


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
    """The bug report beside the script: a summary, the short snippet (fuzz/snippet.py), what the
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
    """A case feature (conformance.judge.features) as a maintainer says it."""
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
