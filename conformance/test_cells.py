"""CELL-01..CELL-10 and the page's examples (EX-01, EX-02): the cell protocol and the built-in cells."""
import numpy as np
import pytest

from rnnconf.conformance import cell_probes
from rnnconf.conformance import helpers as ch
from rnnconf.conformance.grids import case

BUILTIN = {
    "simple_relu_nobias": {"kind": "simple", "units": 4, "activation": "relu", "use_bias": False},
    "gru_impl1": {"kind": "gru", "units": 3, "implementation": 1},
    "gru_reset_before_hard_sigmoid": {"kind": "gru", "units": 3, "reset_after": False,
                                       "recurrent_activation": "hard_sigmoid"},
    "gru_nobias": {"kind": "gru", "units": 2, "use_bias": False},
    "lstm_impl1": {"kind": "lstm", "units": 3, "implementation": 1},
    "lstm_no_forget_bias": {"kind": "lstm", "units": 3, "unit_forget_bias": False, "activation": "relu"},
    "lstm_nobias": {"kind": "lstm", "units": 2, "use_bias": False},
    "lstm_dropout_inference": {"kind": "lstm", "units": 3, "dropout": 0.5, "recurrent_dropout": 0.3},
}
BUILTIN_CLAUSES = {"simple": ("CELL-01", "CELL-03"), "gru": ("CELL-01", "CELL-03"), "lstm": ("CELL-01", "CELL-04")}


@pytest.mark.every_example  # each parameter set takes its own path through the cell's build and call
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.clauses(*BUILTIN_CLAUSES[BUILTIN[n]["kind"]]))
                                  for n in sorted(BUILTIN)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_builtin_cell_parameters(impl_target, oracle_target, name, dtype):
    cell = BUILTIN[name]
    ch.assert_conforms(impl_target, oracle_target,
                       case([cell], "sequences_state", "right_padded", dtype=dtype))


@pytest.mark.clauses("CELL-01", "CELL-03")
@pytest.mark.every_example  # GRU and LSTM have a call of their own
@pytest.mark.parametrize("layer", ["SimpleRNN", "GRU", "LSTM"])
def test_builtin_layers(impl_target, oracle_target, layer):
    kind = {"SimpleRNN": "simple", "GRU": "gru", "LSTM": "lstm"}[layer]
    ch.assert_conforms(impl_target, oracle_target,
                       case(flags="backwards_sequences", mask="holes_and_empty_row") | {
                           "layer": layer, "cells": [{"kind": kind, "units": 3}]})


CUSTOM = {
    "minimal": ("CELL-01", "CELL-03", "CELL-07", "CELL-09"),
    "multi_state": ("CELL-01", "CELL-04", "CELL-06"),
    "multi_no_out": ("CELL-04", "CELL-07"),
    "hd_state": ("CELL-05", "CELL-06", "SHAPE-01"),
    "init_state": ("CELL-08",),
    "bare_state": ("CELL-01", "CELL-03"),
}


@pytest.mark.parametrize("variant", [pytest.param(v, marks=pytest.mark.clauses(*CUSTOM[v])) for v in sorted(CUSTOM)])
@pytest.mark.parametrize("flags", ["sequences_state", "backwards_sequences"])
@pytest.mark.parametrize("mask", ["none", "holes_and_empty_row"])
def test_custom_cell_protocol(impl_target, oracle_target, variant, flags, mask):
    features = [2, 3] if variant == "hd_state" else [4]
    the_case = case(flags=flags, mask=mask) | {"cells": [{"kind": "custom", "variant": variant, "units": 3}],
                                               "features": features}
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CELL-05", "SHAPE-02", "SHAPE-03")
def test_high_dimensional_state_shapes(impl_target):
    the_case = case(flags="sequences_state") | {"cells": [{"kind": "custom", "variant": "hd_state", "units": 3}],
                                                "features": [2, 4]}
    output, state = ch.results(ch.outcome_of(impl_target, the_case))
    assert np.shape(output) == (3, 5, 2, 3), "return_sequences output is [batch, time, *output_size]"
    assert np.shape(state) == (3, 2, 3), "a TensorShape state is [batch, *state_size]"


@pytest.mark.clauses("CELL-08", "CELL-09")
def test_initial_state_from_cell_or_zeros(impl_target):
    """With no input at all (zero weights are not needed): one step from the cell's initial state."""
    one_step = {"timesteps": 1, "flags": {"return_state": True}}
    with_init = ch.results(ch.outcome_of(impl_target, case() | one_step | {
        "cells": [{"kind": "custom", "variant": "init_state", "units": 3}]}))
    zeros_init = ch.results(ch.outcome_of(impl_target, case() | one_step | {
        "cells": [{"kind": "custom", "variant": "init_state", "units": 3}], "initial_state": True}))
    assert not np.allclose(with_init[0], zeros_init[0]), "the cell's get_initial_state must be used"


@pytest.mark.clauses("CELL-10")
@pytest.mark.parametrize("cells", [
    [{"kind": "simple", "units": 2}],
    [{"kind": "lstm", "units": 3}, {"kind": "lstm", "units": 2}],
    [{"kind": "gru", "units": 3, "reset_after": False}, {"kind": "custom", "variant": "multi_state", "units": 2},
     {"kind": "simple", "units": 4}],
], ids=["one", "two_lstm", "gru_custom_simple"])
@pytest.mark.parametrize("flags", ["sequences_state", "backwards_sequences", "unroll_backwards"])
def test_stacked_cells(impl_target, oracle_target, cells, flags):
    ch.assert_conforms(impl_target, oracle_target,
                       case(flags=flags, mask="right_padded") | {"cells": cells, "cell_list": True})


@pytest.mark.clauses("EX-01", "CELL-01", "CELL-07")
def test_page_example_minimal_cell(impl_target, oracle_target):
    """RNN(MinimalRNNCell(32)) on (batch, time, 5) inputs gives (batch, 32)."""
    the_case = {"cells": [{"kind": "custom", "variant": "minimal", "units": 32}], "features": [5],
                "batch": 2, "timesteps": 4}
    expected, actual = ch.assert_conforms(impl_target, oracle_target, the_case)
    assert np.shape(ch.results(actual)) == (2, 32)


@pytest.mark.clauses("EX-02", "CELL-10")
def test_page_example_stacked_minimal_cells(impl_target, oracle_target):
    """RNN([MinimalRNNCell(32), MinimalRNNCell(64)]) gives (batch, 64)."""
    the_case = {"cells": [{"kind": "custom", "variant": "minimal", "units": 32},
                          {"kind": "custom", "variant": "minimal", "units": 64}],
                "features": [5], "batch": 2, "timesteps": 4, "weight_scale": 0.8}
    expected, actual = ch.assert_conforms(impl_target, oracle_target, the_case)
    assert np.shape(ch.results(actual)) == (2, 64)


def _zero_states(target, cell_name, given):
    """cell_probes.zero_states, run where the target's namespace lives (target.call)."""
    if cell_name in ("StackedRNNCells", "AbstractRNNCell") and not target.has(cell_name):
        pytest.skip(f"unsupported: {target.name} lacks {cell_name} (CELL-08)")
    return target.call(cell_probes.zero_states, cell_name, given)


@pytest.mark.clauses("CELL-08")
@pytest.mark.parametrize("cell_name", ["SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "AbstractRNNCell"])
@pytest.mark.parametrize("given", ["inputs", "batch_size_and_dtype"])
def test_builtin_cell_initial_state(impl_target, oracle_target, cell_name, given):
    """get_initial_state from the step inputs (their batch) or from batch_size and dtype: zeros shaped
    [batch, state_size] per state (a stack: its cells' states in order)."""
    expected = [(tuple(shape), zero) for shape, zero in _zero_states(oracle_target, cell_name, given)]
    assert all(zero for _, zero in expected)
    passed = ("inputs",) if given == "inputs" else ("batch_size", "dtype")
    try:
        # (a target in its own environment runs cell_probes.zero_states in its worker, without pytest)
        actual = [(tuple(shape), zero) for shape, zero in _zero_states(impl_target, cell_name, given)]
    except (TypeError, ValueError, AttributeError, NotImplementedError) as e:
        refused = [arg for arg in passed if f"'{arg}'" in str(e) or f"`{arg}`" in str(e)]
        if refused or isinstance(e, NotImplementedError):  # interfaces.md section 1: a refused argument
            pytest.skip(f"unsupported: {impl_target.name}'s {cell_name}.get_initial_state refuses "
                        f"{', '.join(refused) or 'it'} (CELL-08)")
        raise
    assert actual == expected, (f"{cell_name}.get_initial_state({given}): {impl_target.name} gives (shape, all "
                                f"zero) {actual}, {oracle_target.name} {expected}")
