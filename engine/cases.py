"""A case: one configuration of the contract as plain data, and how to build it on any Target.

A case is a JSON-able dict (see DEFAULTS). The suite writes cases by hand, the fuzzer draws them,
reproducers embed them: generation, execution (execute.py) and comparison (compare.py) only pass
these dicts and NumPy arrays between them.

Weights and inputs come from the case's seed, not from the implementation, so both sides get the
same numbers: 2-D weights are N(0, scale^2 / rows), so recurrent kernels have spectral radius near
`weight_scale` and state-carrying mistakes cannot fade away; 1-D weights and inputs are N(0, 1)-ish.
`perturbation` multiplies each of those values by 1 + size * N(0, 1), from noise streams of their own
(a case without it draws exactly the same numbers): compare.py's probe of how much float32 rounding
a case amplifies.
"""
import hashlib
import json

import numpy as np

from . import custom_cells
from .schema import BUILTIN_LAYERS, CELL_CLASSES, CELL_DEFAULTS, FLAG_DEFAULTS

DEFAULTS = {
    "layer": "RNN",          # "RNN" wraps `cells`; "SimpleRNN" / "GRU" / "LSTM" use the built-in layer
    "cells": [{"kind": "simple", "units": 3}],   # kind: simple | gru | lstm | custom (with "variant")
    "cell_list": False,      # pass `cells` as a list even when there is one (CELL-10)
    "flags": {},             # RNN constructor flags that differ from their defaults
    "dtype": "float32",
    "batch": 2, "timesteps": 4, "features": [3],
    "mask": None,            # [batch][timesteps] of 0/1, always batch-major in the case
    "initial_state": False,  # True: random initial states passed to the call (CALL-04)
    "initial_state_form": None,  # how they are nested (INITIAL_STATE_FORMS); None: "list"
    "constants": None,       # list of constant feature shapes (CALL-05)
    "training": None,        # passed to the call only when not None (CALL-03)
    "embedding": None,       # {"vocab": n}: tokens through Embedding(mask_zero=True) first (MASK-02)
    # steps: {"op": "call"} (keys: "batch" another batch size, "initial_state", "initial_state_form",
    # "input_step" reuse the inputs of an earlier step, "list_input"), {"op": "reset"} (key "states":
    # None | "random" | "wrong_count" | "wrong_batch" | "wrong_width"), {"op": "states"} (read layer.states)
    "steps": [{"op": "call"}],
    "reverse_inputs": False, # feed the seed's inputs reversed in time (metamorphic go_backwards checks)
    "seed": 0,
    "weights_seed": None,    # weights from this seed instead of `seed` (data variants on fixed weights)
    "weight_scale": 1.0,
    "perturbation": None,    # [relative size, draw]: noise on every generated value (see perturbed)
    "warmup": None,          # data-only keys of a case run first on the same layer (execute.run)
    "samples": None,         # [n, per call, seed]: run a stochastic case n times (dropout.sample)
    # Constructor arguments passed even at their default value: the case is about passing them
    # (FLAG_SETS["explicit_defaults"]); any other argument at its default is left out (layer_kwargs).
    "explicit_args": None,
    "gradients": False,      # differentiate every call: the shared loss of gradients.md (GRAD-*)
    # A stack's given states (initial_state, reset_states) in reverse cell order, last cell first:
    # the oracle's side of tfjs' documented convention (known_differences, `like in reverse cell order`).
    "reverse_cell_order": False,
}


def normalize(case):
    """The case with every default filled in. Cases are values: nothing in rnnconf mutates one (derive
    a new one with dict(case, key=value)), so defaults are shared rather than deep-copied; this runs
    several times per fuzzed example."""
    if len(case) >= len(DEFAULTS) and all(k in case for k in DEFAULTS):
        return case
    out = dict(DEFAULTS)
    out.update(case)
    return out


def case_key(case):
    """A short stable key of a case's whole content (equal cases, equal keys)."""
    return hashlib.sha1(json.dumps(case, sort_keys=True, default=str).encode()).hexdigest()


def minimal(case):
    """The case without the keys that equal their defaults: what a reproducer prints."""
    case = normalize(case)
    return {k: v for k, v in case.items() if v != DEFAULTS[k] or k in ("cells", "seed")}


def flag(case, name):
    return bool(case["flags"].get(name, False))


def is_stochastic(case):
    """Dropout while training: values are random on both sides, only structure can be compared."""
    return bool(case["training"]) and any(
        c.get("dropout", 0) or c.get("recurrent_dropout", 0) for c in case["cells"])


# ---- state shapes -------------------------------------------------------------------------------
def cell_state_dims(cell, features):
    """The cell's state sizes as a nested list of dims, shaped like its state_size."""
    u = cell["units"]
    kind = cell["kind"]
    if kind == "lstm":
        return [[u], [u]]
    if kind in ("simple", "gru"):
        return [u]
    variant = cell["variant"]
    if variant in ("multi_state", "multi_no_out", "few_states"):
        return [[u], [u + 1]]
    if variant == "hd_state":
        return [features[0], u]
    return [u]


def _output_dims(cell, features):
    dims = cell_state_dims(cell, features)
    return dims[0] if isinstance(dims[0], list) else dims


def state_structure(case):
    """Per-state dims in the nesting the layer's `initial_state` expects (a list, one entry per state
    for a single cell; one entry per cell, each nested as its state_size, for a stack)."""
    case = normalize(case)
    features = case["features"]
    per_cell = []
    for cell in case["cells"]:
        per_cell.append(cell_state_dims(cell, features))
        features = _output_dims(cell, features)
    if not is_stack(case):
        dims = per_cell[0]
        return dims if isinstance(dims[0], list) else [dims]
    return per_cell


def is_stack(case):
    """Whether the layer's cell is a StackedRNNCells (several cells, or a list of one)."""
    return len(case["cells"]) > 1 or bool(case["cell_list"])


def in_cell_order(case, per_cell):
    """A stack's per-cell `per_cell` (states, as state_structure nests them) in the order the case
    gives them: reversed where it asks for `reverse_cell_order`."""
    return per_cell[::-1] if case.get("reverse_cell_order") and is_stack(case) else per_cell


def state_count(case):
    """How many state tensors the layer has (all cells together)."""
    def count(structure):
        return 1 if _is_dims(structure) else sum(count(s) for s in structure)
    return count(state_structure(case))


def _is_dims(x):
    return isinstance(x, list) and all(isinstance(d, int) for d in x)


def unwrapped_initial_states(case):
    """The case with its initial states given as the plain list where they came with each single state
    in a list of its own (`wrapped`; `regrouped` where there is one cell), or None where none did."""
    wrapped = ("wrapped",) if is_stack(normalize(case)) else ("wrapped", "regrouped")
    if case.get("initial_state_form") not in wrapped and not any(
            s.get("initial_state_form") in wrapped for s in case.get("steps") or ()):
        return None
    form = "list" if case.get("initial_state_form") in wrapped else case.get("initial_state_form")
    unwrapped = dict(case, initial_state_form=form)
    if case.get("steps"):
        unwrapped["steps"] = [dict(s, initial_state_form="list") if s.get("initial_state_form") in wrapped else s
                              for s in case["steps"]]
    return unwrapped


def passes_no_states(case, form):
    """Whether the case's initial states given in `form` are an empty list (`empty`; or one entry
    fewer where there is one, such as a single-state cell's or a one-cell stack's)."""
    def placeholders(structure):
        return "state" if _is_dims(structure) else [placeholders(s) for s in structure]
    return shape_initial_state(placeholders(state_structure(case)), form) == []


def random_states(structure, batch, rng, dtype):
    if _is_dims(structure):
        return rng.normal(0.0, 0.5, [batch] + structure).astype(dtype)
    return [random_states(s, batch, rng, dtype) for s in structure]


# ---- initial_state forms --------------------------------------------------------------------------
# The shapes a user can give `initial_state` in, canonical first (the fuzzer's shrink target). Each
# rearranges the same state arrays, so wherever the oracle accepts one it gives the canonical results
# (but for an empty list, ignored on a built layer: DEV-empty-initial-state).
# The forms of the page ("a tensor or list of tensors"):
#   list        one entry per state (a single cell), or per cell nested like its state_size (a stack)
#   tuple       the same with tuples at every level          tuple_outer  a tuple of the list's entries
#   flat        a flat list of every state (the list itself unless a stacked cell has several states)
#   tensor      the first state, bare (all of them for a layer of one state)
# and wrong ones:
#   wrapped     every entry that is one state wrapped in a list ([s] for s)
#   regrouped   the same states in as many entries, split differently ([h1, [c1, h2, c2]] for
#               [[h1, c1], [h2, c2]]); where no other split exists, every entry wrapped in a list
#   empty       []
#   too_few / too_many                      the last entry dropped / a copy of the last state appended
#   too_few_in_cell / too_many_in_cell      the same inside the last entry that is a list (the last
#                                           stacked cell with several states); too_few / too_many if none
INITIAL_STATE_FORMS = ("list", "tuple", "tuple_outer", "flat", "tensor", "wrapped", "regrouped", "empty",
                       "too_few", "too_many", "too_few_in_cell", "too_many_in_cell")


def _leaves(x):
    return [leaf for item in x for leaf in _leaves(item)] if isinstance(x, (list, tuple)) else [x]


def _as_tuples(x):
    return tuple(_as_tuples(item) for item in x) if isinstance(x, list) else x


def _regrouped(entries):
    leaves = _leaves(entries)
    sizes = [len(_leaves(e)) for e in entries]
    spare = len(leaves) - len(entries) + 1
    new = [1] * (len(entries) - 1) + [spare]
    if new == sizes:
        new = new[::-1]
    if new == sizes:  # no other split: one state per entry, or a single entry
        return [[e] for e in entries]
    out, i = [], 0
    for size in new:
        out.append(leaves[i] if size == 1 else leaves[i:i + size])
        i += size
    return out


def _change_last_list(entries, fn):
    """`entries` with fn applied to its last entry that is a list, or None when no entry is."""
    for i in range(len(entries) - 1, -1, -1):
        if isinstance(entries[i], list):
            return entries[:i] + [fn(entries[i])] + entries[i + 1:]
    return None


def shape_initial_state(states, form):
    """`states` (state_structure's nesting: a list, its leaves any objects) arranged in `form`."""
    form = form or "list"
    if form == "list":
        return states
    if form == "tuple":
        return _as_tuples(states)
    if form == "tuple_outer":
        return tuple(states)
    if form in ("flat", "tensor"):
        leaves = _leaves(states)
        return leaves if form == "flat" else leaves[0]
    if form == "wrapped":
        return [e if isinstance(e, list) else [e] for e in states]
    if form == "regrouped":
        return _regrouped(states)
    if form == "empty":
        return []
    if form in ("too_few", "too_few_in_cell"):
        inner = form == "too_few_in_cell" and _change_last_list(states, lambda e: e[:-1])
        return inner or states[:-1]
    if form in ("too_many", "too_many_in_cell"):
        inner = form == "too_many_in_cell" and _change_last_list(states, lambda e: e + [e[-1]])
        return inner or states + [_leaves(states)[-1]]
    raise ValueError(f"unknown initial_state form {form!r}")


def initial_state_for(case, step_index, step, native):
    """The `initial_state` argument of one call: the seed's random states, in the step's form (or
    the case's), their leaves made native by `native`. Every form draws the same arrays."""
    batch = step.get("batch", case["batch"])
    states = random_states(state_structure(case), batch, step_rng(case, step_index, 2), case["dtype"])
    states = in_cell_order(case, perturbed(case, states, step_index, 2))
    nested = _map_leaves(native, states)
    return shape_initial_state(nested, step.get("initial_state_form", case.get("initial_state_form")))


def _map_leaves(fn, x):
    return [_map_leaves(fn, item) for item in x] if isinstance(x, list) else fn(x)


# ---- arrays ---------------------------------------------------------------------------------------
def step_rng(case, step_index, purpose):
    return np.random.default_rng([case["seed"], step_index, purpose])


def perturbed(case, values, *where):
    """`values` (an array, or a list nest of them) with the case's relative perturbation applied; the
    noise stream is named by the draw and `where` (which values), so each array gets its own."""
    if not case.get("perturbation"):
        return values
    size, draw = case["perturbation"]
    rng = np.random.default_rng([case["seed"], 7919, draw, *where])

    def apply(x):
        if isinstance(x, list):
            return [apply(item) for item in x]
        return (x * (1 + size * rng.standard_normal(np.shape(x)))).astype(x.dtype)
    return apply(values)


def inputs_for(case, step_index, batch=None):
    """Input array for one call, in the layer's own layout (time-major when the flag says so)."""
    batch = batch or case["batch"]
    rng = step_rng(case, step_index, 1)
    if case["embedding"]:
        tokens = rng.integers(1, case["embedding"]["vocab"], (batch, case["timesteps"]))
        if case["mask"] is not None:
            tokens = tokens * np.asarray(case["mask"], dtype=tokens.dtype)[:batch]
        return tokens.astype("int32")
    x = rng.normal(0.0, 1.0, [batch, case["timesteps"]] + list(case["features"])).astype(case["dtype"])
    x = perturbed(case, x, step_index, 1)
    if case["reverse_inputs"]:
        x = x[:, ::-1].copy()  # a contiguous array: torch refuses NumPy views with negative strides
    return np.swapaxes(x, 0, 1).copy() if flag(case, "time_major") else x


def mask_for(case):
    """The mask in the layout the oracle expects: (batch, time), or (time, batch) with time_major
    (oracle deviation DEV-time-major-mask)."""
    if case["mask"] is None or case["embedding"]:
        return None
    mask = np.asarray(case["mask"], dtype=bool)
    return mask.T.copy() if flag(case, "time_major") else mask


def weights_for(shapes_dtypes, case):
    rng = np.random.default_rng([case["seed"], 99])
    scale = case["weight_scale"]
    out = []
    for shape, dtype in shapes_dtypes:
        if len(shape) >= 2:
            w = rng.normal(0.0, scale / np.sqrt(shape[0]), shape)
        else:
            w = rng.normal(0.0, 0.5, shape)
        out.append(w.astype(dtype))
    return perturbed(case, out, 99)


def part_weights(specs_by_part, case):
    """The weights of each part of a case's model (its layer, then its Embedding), from their shapes
    and dtypes: part i's from seed + i, where the seed is `weights_seed` if set, else `seed`."""
    base = case["weights_seed"] if case.get("weights_seed") is not None else case["seed"]
    return [weights_for(specs, dict(case, seed=base + i)) for i, specs in enumerate(specs_by_part)]


# ---- building layers ------------------------------------------------------------------------------
def _without_defaults(arguments, defaults, case):
    """`arguments` less those at their default value (equal and of the default's type: 0 is not 0.0),
    unless the case names them in `explicit_args`. An implementation may refuse an argument it has
    dropped even at its default (Keras 3: `time_major=False`): a case not about that argument must
    not be refused over it."""
    explicit = set(case.get("explicit_args") or ())
    return {k: v for k, v in arguments.items()
            if k in explicit or not (k in defaults and v == defaults[k] and type(v) is type(defaults[k]))}


def layer_flags(case):
    """The RNN constructor flags the layer of a case is given."""
    case = normalize(case)
    return _without_defaults(case["flags"], FLAG_DEFAULTS, case)


def cell_kwargs(cell, case):
    """The options a built-in cell (or layer) of the case is constructed with, besides its units."""
    options = {k: v for k, v in cell.items() if k not in ("kind", "units", "variant")}
    return _without_defaults(options, CELL_DEFAULTS, normalize(case))


def make_cell(target, cell, dtype, features, case):
    kind = cell["kind"]
    if kind == "custom":
        rows = features[0] if cell["variant"] == "hd_state" else 2
        return custom_cells.make_cell(target, cell["variant"], cell["units"], dtype, rows=rows)
    return getattr(target.ns, CELL_CLASSES[kind])(cell["units"], dtype=dtype, **cell_kwargs(cell, case))


def stateful_batch_shape(case):
    """The `batch_input_shape` a stateful layer of the case is given, Keras 2's way (None: not stateful)."""
    if not flag(case, "stateful"):
        return None
    return (case["batch"], case["timesteps"], *case["features"])


def build_layer(target, case):
    """Construct the layer a case describes; construction errors propagate to the caller.

    A stateful layer needs its batch size. It is given Keras 2's way, `batch_input_shape`, where the
    implementation takes that argument; where it refuses it (Keras 3 has no such argument: a fixed
    batch comes from `Input(batch_shape=...)` or the layer's first call), the layer is built without
    it and the case's first call fixes the batch size. The feature is stateful layers, not the
    argument: an implementation is unsupported there only if it refuses `stateful` itself."""
    case = normalize(case)
    dtype = case["dtype"]
    layer_kwargs = dict(layer_flags(case), dtype=dtype)

    def make(**extra):
        if case["layer"] in BUILTIN_LAYERS:
            cell = case["cells"][0]
            return getattr(target.ns, case["layer"])(cell["units"], **cell_kwargs(cell, case), **layer_kwargs,
                                                     **extra)
        cells, features = [], list(case["features"])
        for cell in case["cells"]:
            cells.append(make_cell(target, cell, dtype, features, case))
            features = _output_dims(cell, features)
        arg = cells if (len(cells) > 1 or case["cell_list"]) else cells[0]
        return target.ns.RNN(arg, **layer_kwargs, **extra)

    batch_shape = stateful_batch_shape(case)
    if batch_shape is None:
        return make()
    try:
        return make(batch_input_shape=batch_shape)
    except (TypeError, ValueError) as e:
        if "batch_input_shape" not in str(e):
            raise
    return make()


def build_embedding(target, case):
    vocab = case["embedding"]["vocab"]
    return target.ns.Embedding(vocab, case["features"][0], mask_zero=True, dtype=case["dtype"])


def reset_states_for(case, step_index, what):
    """The arrays a `reset` step with states `what` passes to reset_states: random states of the
    case's structure, or wrong on purpose (one too many, one row too many, one column too many);
    a bare array where there is one state."""
    states = random_states(state_structure(case), case["batch"], step_rng(case, step_index, 4), case["dtype"])
    flat = _leaves(in_cell_order(case, states))
    if what == "wrong_count":
        flat = flat + flat[:1]
    elif what == "wrong_batch":
        flat = [np.concatenate([s, s[:1]]) for s in flat]
    elif what == "wrong_width":
        flat = [np.concatenate([s, s[:, :1]], axis=1) for s in flat]
    return flat if len(flat) > 1 else flat[0]
