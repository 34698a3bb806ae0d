"""Hypothesis strategies that draw cases (the plain dicts of conformance/cases.py).

Small composable builders, one concern each, every draw labelled. Two habits throughout:
- optional keyword arguments are drawn as "omitted or a value", omitted first, so defaults are
  exercised and shrinking walks towards the shortest configuration;
- sizes come from small pools (UNITS, FEATURES...) whose first entry is the shrink target, so the
  same shapes recur often (cheap for frameworks that cache per shape) while every size stays
  reachable.

`cases()` is the entry point: valid cases over the whole space and, at a steady rate (about one in
ten), invalid ones that must fail the same way on both sides (`invalid_cases()`).
"""
import os

from hypothesis import strategies as st

from conformance import custom_cells
from conformance.cases import cell_state_dims, state_count

OMIT = object()  # a drawn "leave this keyword out"

UNITS = st.sampled_from([2, 3, 1, 4, 5])
FEATURES = st.sampled_from([3, 2, 1, 4])
BATCH = st.sampled_from([2, 1, 3, 4])
TIMESTEPS = st.sampled_from([3, 1, 2, 4, 5, 8, 6, 7])
ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"]
FLAGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major",
         "zero_output_for_mask")
BUILTIN_KINDS = ("simple", "gru", "lstm")
LAYER_OF_KIND = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}
INVALID_RATE = 0.1
# One drawn case in GRADIENT_EVERY also differentiates (gradients.md): a gradient case runs eagerly on
# both sides (the oracle's tape call costs what ~10 traced calls do), so all of them would slow a
# campaign several times over (docs/gradients.md: the measured cost and why this rate).
# RNNCONF_GRADIENT_EVERY overrides it: 1 differentiates every drawn case, 0 none.
GRADIENT_EVERY = 8


def gradient_every():
    return int(os.environ.get("RNNCONF_GRADIENT_EVERY", GRADIENT_EVERY))


def differentiable(case):
    """Whether a drawn case may differentiate: not with an Embedding (its tokens have no gradient) nor
    with dropout while training (those cases are judged by their distributions; GRAD-09 is checked
    with fixed masks by the suite)."""
    return not case.get("embedding") and not (
        case.get("training") and any(c.get("dropout") or c.get("recurrent_dropout") for c in case.get("cells") or []))


class GradientTurns:
    """Which drawn cases differentiate: every gradient_every()-th of those that can, counted rather
    than drawn. A Hypothesis draw is correlated within a campaign round (its generator mutates the
    round's earlier examples): a 1-in-8 draw gave 0 of 40 cases in some rounds, 13 of 40 in others."""

    def __init__(self, every=None):
        self.every = gradient_every() if every is None else every
        self.differentiable = 0

    def __call__(self, case):
        """`case`, with `gradients` where it is its turn."""
        if not self.every or not differentiable(case):
            return case
        self.differentiable += 1
        return dict(case, gradients=True) if self.differentiable % self.every == 0 else case


def optional(strategy):
    """OMIT (shrink target) or a value from `strategy`."""
    return st.one_of(st.just(OMIT), strategy)


def _put(draw, target, key, strategy):
    value = draw(optional(strategy), label=key)
    if value is not OMIT:
        target[key] = value


# ---- cells --------------------------------------------------------------------------------------
PARAMS = {  # cell parameter: (strategy, the kinds that take it)
    "activation": (st.sampled_from(ACTIVATIONS + [None]), BUILTIN_KINDS),  # None: no activation at all
    # Gates stay bounded: a linear gate lets states grow geometrically, and the rounding of values
    # near 1e5 then exceeds compare.py's bound although both sides are right.
    "recurrent_activation": (st.sampled_from(["sigmoid", "hard_sigmoid", "tanh"]), ("gru", "lstm")),
    "implementation": (st.sampled_from([1, 2]), ("gru", "lstm")),
    "use_bias": (st.booleans(), BUILTIN_KINDS),
    "reset_after": (st.booleans(), ("gru",)),
    "unit_forget_bias": (st.booleans(), ("lstm",)),
    "dropout": (st.sampled_from([0.5, 0.25, 0.0]), BUILTIN_KINDS),
    "recurrent_dropout": (st.sampled_from([0.5, 0.25, 0.0]), BUILTIN_KINDS),
}
# hd_state is drawn only by hd stacks (its features are 2-D); constants only where the case passes them.
FLAT_CUSTOM = tuple(v for v in custom_cells.VALID_VARIANTS if v != "hd_state" and v not in custom_cells.CONSTANTS_VARIANTS)


@st.composite
def cell_params(draw, kind):
    """A random subset of the parameters `kind` takes. Every parameter is drawn whatever the kind
    (and dropped if it does not apply), so the choice sequence has one layout for all kinds and the
    shrinker can change the kind without losing its place."""
    params = {}
    for name, (strategy, kinds) in PARAMS.items():
        value = draw(optional(strategy), label=name)
        if value is not OMIT and kind in kinds:
            params[name] = value
    return params


@st.composite
def builtin_cells(draw, kind=None):
    """A SimpleRNNCell / GRUCell / LSTMCell description with a random subset of its parameters."""
    kind = kind or draw(st.sampled_from(BUILTIN_KINDS), label="cell kind")
    units = draw(UNITS, label="units")
    return {"kind": kind, "units": units, **draw(cell_params(kind), label="params")}


@st.composite
def flat_cells(draw):
    """One cell whose input and output are flat feature vectors. One choice picks among all kinds,
    built-in first, so the shrinker can turn any cell into a SimpleRNNCell when the bug allows."""
    kind = draw(st.sampled_from(BUILTIN_KINDS + FLAT_CUSTOM), label="cell kind")
    units = draw(UNITS, label="units")
    params = draw(cell_params(kind), label="params")
    if kind in BUILTIN_KINDS:
        return {"kind": kind, "units": units, **params}
    return {"kind": "custom", "variant": kind, "units": units}


@st.composite
def cell_stacks(draw):
    """(cells, cell_list, features) for a layer built on RNN(cell or [cells]).

    One in ten stacks has high-dimensional states: every cell hd_state, the input (rows, features)
    per step. Both branches draw the same choices, so the shrinker can leave the hd branch."""
    hd = draw(st.integers(0, 9), label="hd stack") == 9
    n = draw(st.sampled_from([1, 2, 3]), label="stack depth")
    cells = [draw(flat_cells(), label=f"cell {i}") for i in range(n)]
    rows, width = draw(st.sampled_from([2, 3]), label="rows"), draw(FEATURES, label="features")
    if hd:
        cells = [{"kind": "custom", "variant": "hd_state", "units": c["units"]} for c in cells]
    cell_list = draw(st.booleans(), label="cell_list") or n > 1  # drawn always: one choice layout
    return cells, cell_list, ([rows, width] if hd else [width])


# ---- masks ----------------------------------------------------------------------------------------
ROW_PATTERNS = ("full", "right_pad", "left_pad", "holes", "empty")


@st.composite
def mask_rows(draw, timesteps):
    pattern = draw(st.sampled_from(ROW_PATTERNS), label="mask row")
    if pattern == "full":
        return [1] * timesteps
    if pattern == "empty":
        return [0] * timesteps
    if pattern == "holes":
        return draw(st.lists(st.sampled_from([1, 0]), min_size=timesteps, max_size=timesteps), label="holes")
    keep = draw(st.integers(0, timesteps), label="kept steps")
    pad = [0] * (timesteps - keep)
    return [1] * keep + pad if pattern == "right_pad" else pad + [1] * keep


@st.composite
def masks(draw, batch, timesteps):
    """None, or a [batch][timesteps] 0/1 mask whose rows are full, empty, padded or holed."""
    if not draw(st.booleans(), label="masked"):
        return None
    return [draw(mask_rows(timesteps), label=f"mask row {b}") for b in range(batch)]


# ---- flags and steps ------------------------------------------------------------------------------
@st.composite
def flag_sets(draw, allow_time_major=True):
    flags = {}
    for name in FLAGS:
        if name == "time_major" and not allow_time_major:
            continue
        _put(draw, flags, name, st.booleans())
    return flags


@st.composite
def stateful_steps(draw, batch):
    """What happens to a stateful layer: calls, resets (zeros, arrays, wrong arrays), state reads."""
    steps = [{"op": "call"}]
    for i in range(draw(st.integers(0, 4), label="more steps")):
        op = draw(st.sampled_from(["call", "reset", "states", "call_initial", "call_batch"]), label=f"step {i}")
        if op == "call":
            steps.append({"op": "call"})
        elif op == "states":
            steps.append({"op": "states"})
        elif op == "call_initial":
            steps.append({"op": "call", "initial_state": True})
        elif op == "call_batch":
            steps.append({"op": "call", "batch": draw(st.sampled_from([b for b in (1, 2, 3) if b != batch] or [2]),
                                                      label="other batch")})
        else:
            what = draw(st.sampled_from([None, "random", "wrong_count", "wrong_batch", "wrong_width"]),
                        label="reset states")
            steps.append({"op": "reset"} if what is None else {"op": "reset", "states": what})
    return steps


# ---- initial_state forms (conformance/cases.py INITIAL_STATE_FORMS) --------------------------------
# "list", the canonical form, is first: drawn as the key left out, and the shrink target.
VALID_INITIAL_STATE_FORMS = ("list", "tuple", "tuple_outer", "tensor")
# Wrong for some layers or paths and right for others (flat is right where it is the canonical
# list, wrapped for a stack without a mask): both sides must agree either way.
WRONG_INITIAL_STATE_FORMS = ("too_few", "too_many", "empty", "flat", "wrapped", "regrouped", "too_few_in_cell",
                             "too_many_in_cell", "tensor")


@st.composite
def initial_state_forms(draw, states, wrong=False):
    """An initial_state form for a layer of `states` state tensors, or None for the canonical one.
    Valid forms only unless `wrong`; a bare tensor only where there is one state (it is a wrong form
    otherwise)."""
    if wrong:
        return draw(st.sampled_from(WRONG_INITIAL_STATE_FORMS), label="wrong initial_state form")
    form = draw(st.sampled_from(VALID_INITIAL_STATE_FORMS), label="initial_state form")
    return None if form == "list" or (form == "tensor" and states > 1) else form


def _output_features(cells, features):
    for cell in cells:
        dims = cell_state_dims(cell, features)
        features = dims[0] if isinstance(dims[0], list) else dims
    return features


# ---- whole cases ----------------------------------------------------------------------------------
@st.composite
def layer_parts(draw):
    """layer, cells, cell_list, features: a built-in layer or RNN over a cell or a stack."""
    if draw(st.integers(0, 3), label="built-in layer") == 3:
        kind = draw(st.sampled_from(BUILTIN_KINDS), label="layer kind")
        return LAYER_OF_KIND[kind], [draw(builtin_cells(kind), label="cell")], False, [draw(FEATURES, label="features")]
    cells, cell_list, features = draw(cell_stacks(), label="cells")
    return "RNN", cells, cell_list, features


@st.composite
def valid_cases(draw):
    layer, cells, cell_list, features = draw(layer_parts(), label="layer")
    case = {"cells": cells, "seed": draw(st.integers(0, 2 ** 16), label="seed")}
    if layer != "RNN":
        case["layer"] = layer
    if cell_list:
        case["cell_list"] = True
    case["features"] = features
    batch, timesteps = draw(BATCH, label="batch"), draw(TIMESTEPS, label="timesteps")
    case["batch"], case["timesteps"] = batch, timesteps
    case["dtype"] = draw(st.sampled_from(["float32", "float64"]), label="dtype")
    embedding = (len(features) == 1 and draw(st.integers(0, 9), label="embedding") == 9)
    case["flags"] = draw(flag_sets(allow_time_major=not embedding), label="flags")
    mask = draw(masks(batch, timesteps), label="mask")
    if embedding:
        # Tokens of the case's masked steps are 0, so Embedding(mask_zero=True) makes the mask (MASK-02).
        case["embedding"] = {"vocab": draw(st.sampled_from([5, 3, 10]), label="vocab")}
    if mask is not None:
        case["mask"] = mask
    if draw(st.booleans(), label="initial_state"):
        case["initial_state"] = True
        form = draw(initial_state_forms(state_count(case)), label="initial_state form")
        if form is not None:
            case["initial_state_form"] = form
    if layer == "RNN" and len(features) == 1 and draw(st.integers(0, 7), label="constants") == 7:
        # One cell becomes the constants cell; it needs a constant of its own width at every call
        # (CALL-05, CONST-01). Cells that do not take constants are not given them by the stack.
        index = draw(st.integers(0, len(cells) - 1), label="constants cell")
        variant = draw(st.sampled_from(custom_cells.CONSTANTS_VARIANTS), label="constants cell variant")
        cells[index] = {"kind": "custom", "variant": variant, "units": cells[index]["units"]}
        case["constants"] = [[cells[index]["units"]]]
    training = draw(st.sampled_from([OMIT, True, False, None]), label="training")
    if training is not OMIT and training is not None:
        case["training"] = training
    scale = draw(st.sampled_from([1.0, 0.7, 1.3, OMIT]), label="weight_scale")
    if scale is not OMIT and scale != 1.0:
        case["weight_scale"] = scale
    if case["flags"].get("stateful"):
        case["steps"] = draw(stateful_steps(batch), label="steps")
    elif draw(st.integers(0, 9), label="repeat call") == 9:
        case["steps"] = [{"op": "call"}, {"op": "call"}]
    return case  # whether it differentiates is counted, not drawn (GradientTurns)


# ---- invalid configurations -----------------------------------------------------------------------
def _catalog_cases():
    """The error catalog's triggers as (ERR id, case): ERROR_CASES and ERROR_CASE_VARIANTS of
    conformance/error_catalog.py, or nothing while it does not provide them."""
    try:
        from conformance import error_catalog
    except ImportError:
        return []
    cases = sorted((getattr(error_catalog, "ERROR_CASES", None) or {}).items())
    return cases + list(getattr(error_catalog, "ERROR_CASE_VARIANTS", None) or [])


MUTATIONS = ("units_zero", "units_float", "unknown_flag", "mask_short", "mask_long", "mask_batch",
             "reset_not_stateful", "constants_unsupported", "constants_builtin", "bad_cell", "stateful_batch",
             "initial_state_form")


@st.composite
def invalid_mutations(draw, base):
    """A valid case broken in one way a user could break it (the ERR paths of error-paths.md)."""
    case = dict(base)
    case["cells"] = [dict(c) for c in case["cells"]]
    how = draw(st.sampled_from(MUTATIONS), label="mutation")
    t, b = case["timesteps"], case["batch"]
    if how == "units_zero":
        case["cells"][0] = dict(case["cells"][0], units=0)
    elif how == "units_float":
        case["cells"][0] = dict(case["cells"][0], units=2.5)
    elif how == "unknown_flag":
        case["flags"] = dict(case["flags"], not_a_flag=1)
    elif how in ("mask_short", "mask_long", "mask_batch"):
        case.pop("embedding", None)
        width = t - 1 if how == "mask_short" and t > 1 else t + 1 if how != "mask_batch" else t
        rows = b + 1 if how == "mask_batch" else b
        case["mask"] = [[1] * width for _ in range(rows)]
    elif how == "reset_not_stateful":
        case["flags"] = dict(case["flags"], stateful=False)
        case["steps"] = [{"op": "call"}, {"op": "reset"}]
    elif how == "constants_unsupported":
        case["layer"] = "RNN"
        case["cells"] = ([c for c in case["cells"] if c.get("variant") not in custom_cells.CONSTANTS_VARIANTS]
                         or [{"kind": "simple", "units": 2}])
        case["constants"] = [[2]]
    elif how == "constants_builtin":
        kind = draw(st.sampled_from(BUILTIN_KINDS), label="layer kind")
        case.update(layer=LAYER_OF_KIND[kind], cells=[{"kind": kind, "units": 2}], cell_list=False,
                    features=[3], constants=[[2]])
    elif how == "bad_cell":
        variant = draw(st.sampled_from(["few_states", "bad_state", "needs_constants"]), label="bad variant")
        case.update(layer="RNN", cells=[{"kind": "custom", "variant": variant, "units": 2}], cell_list=False,
                    features=[3], constants=None)
        if variant == "needs_constants":
            case["steps"] = [{"op": "call", "list_input": True}]
            case["constants"] = [[2]]
    elif how == "stateful_batch":
        case["flags"] = dict(case["flags"], stateful=True)
        case["steps"] = [{"op": "call"}, {"op": "call", "batch": b + 1}]
    elif how == "initial_state_form":
        case["initial_state"] = True
        case["initial_state_form"] = draw(initial_state_forms(state_count(case), wrong=True), label="form")
    return case


@st.composite
def invalid_cases(draw):
    catalog = _catalog_cases()
    if catalog and draw(st.booleans(), label="from error catalog"):
        _, case = draw(st.sampled_from(catalog), label="ERR trigger")
        # The trigger as written, with the numbers varied: errors must not depend on them.
        return dict(case, seed=draw(st.integers(0, 2 ** 16), label="seed"),
                    dtype=draw(st.sampled_from(["float32", "float64"]), label="dtype"))
    return draw(invalid_mutations(draw(valid_cases(), label="base")), label="invalid")


@st.composite
def cases(draw, invalid_rate=INVALID_RATE):
    """The fuzzer's case: valid, or at `invalid_rate` an invalid configuration."""
    # Valid is the low end, so shrinking a valid case's failure never wanders into invalid ones.
    if draw(st.integers(0, 999), label="invalid?") >= 1000 - int(invalid_rate * 1000):
        return draw(invalid_cases(), label="invalid case")
    return draw(valid_cases(), label="valid case")


def draw_examples(strategy, n, seed, keep=None):
    """Up to `n` examples of `strategy` from seed `seed` (those `keep` accepts, of n tried): a fixed
    stream of cases for benchmarks, outside any test. Cases (dicts) differentiate in turn, as the
    campaign's do (GradientTurns)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    out = []
    turns = GradientTurns()

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example):
        if isinstance(example, dict) and "cells" in example:
            example = turns(example)
        if keep is None or keep(example):
            out.append(example)
    collect()
    return out[:n]
