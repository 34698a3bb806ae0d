"""STATE-01..STATE-07, INIT-02, FLAG-04: stateful layers, reset_states and their errors."""
import numpy as np
import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.conformance.grids import case
from rnnconf.engine.cases import normalize, random_states, state_structure, step_rng

CELLS = {
    "simple": [{"kind": "simple", "units": 3}],
    "gru_reset_before": [{"kind": "gru", "units": 3, "reset_after": False}],
    "lstm": [{"kind": "lstm", "units": 3}],
    "stack": [{"kind": "lstm", "units": 3}, {"kind": "simple", "units": 2}],
    "custom_init": [{"kind": "custom", "variant": "init_state", "units": 3}],
}
SEQUENCES = {
    "carry": [{"op": "call"}, {"op": "call"}, {"op": "states"}],
    "reset": [{"op": "call"}, {"op": "reset"}, {"op": "call"}, {"op": "states"}],
    "set_states": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "states"}, {"op": "call"}],
    "initial_state_then_carry": [{"op": "call", "initial_state": True}, {"op": "call", "initial_state": True},
                                 {"op": "reset"}, {"op": "call", "initial_state": True}],
}


def stateful(cells, steps, mask="none", **kw):
    flags = {"stateful": True, "return_state": True, **kw.pop("flags", {})}
    return case(CELLS[cells], flags, mask, steps=SEQUENCES[steps] if isinstance(steps, str) else steps,
                cell_list=cells == "stack", **kw)


@pytest.mark.clauses("FLAG-04", "STATE-01", "STATE-02", "STATE-03", "STATE-04", "INIT-02")
@pytest.mark.parametrize("cells", sorted(CELLS))
@pytest.mark.parametrize("steps", [pytest.param(s, marks=[pytest.mark.clauses("CALL-04")] if "initial" in s else [])
                                   for s in sorted(SEQUENCES)])
@pytest.mark.parametrize("mask", ["none", "holes_and_empty_row"])
def test_stateful_sequences_match_oracle(impl_target, oracle_target, cells, steps, mask):
    ch.assert_conforms(impl_target, oracle_target, stateful(cells, steps, mask))


@pytest.mark.clauses("FLAG-04", "FLAG-03", "FLAG-06", "STATE-02")
@pytest.mark.parametrize("flags", [{"go_backwards": True}, {"time_major": True}, {"unroll": True}])
def test_stateful_with_other_flags(impl_target, oracle_target, flags):
    ch.assert_conforms(impl_target, oracle_target, stateful("lstm", "carry", "right_padded", flags=flags))


@pytest.mark.clauses("STATE-02", "FLAG-04")
def test_states_carry_between_calls(impl_target):
    same_input_twice = [{"op": "call"}, {"op": "call", "input_step": 0}]
    first, second = ch.outcome_of(impl_target, stateful("simple", same_input_twice))["steps"]
    assert not np.allclose(first["result"][0], second["result"][0]), \
        "the second call on the same input must start from the first call's final state"


@pytest.mark.clauses("STATE-03", "STATE-02")
def test_reset_states_restarts_from_zero(impl_target):
    steps = [{"op": "call"}, {"op": "reset"}, {"op": "call", "input_step": 0}, {"op": "reset"}, {"op": "states"}]
    outcome = ch.outcome_of(impl_target, stateful("lstm", steps))
    first, _, again, _, states = (s["result"] for s in outcome["steps"])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b, err_msg="after reset_states() a call repeats the first call")
    assert all(np.all(np.asarray(s) == 0) for s in states), "reset_states() sets the states to zeros"


@pytest.mark.clauses("STATE-04", "INIT-02")
def test_reset_states_with_values_sets_them(impl_target):
    the_case = normalize(stateful("lstm", [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "states"}]))
    outcome = ch.outcome_of(impl_target, the_case)
    expected = random_states(state_structure(the_case), the_case["batch"], step_rng(the_case, 1, 4), "float32")
    for got, want in zip(outcome["steps"][2]["result"], expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.clauses("STATE-05", "ERR-12")
def test_reset_states_on_non_stateful_layer(impl_target, oracle_target):
    ch.assert_conforms(impl_target, oracle_target, case("simple", steps=[{"op": "call"}, {"op": "reset"}]))


@pytest.mark.clauses("STATE-06", "ERR-13", "STATE-01")
def test_reset_states_before_the_batch_size_is_known(impl_target, oracle_target):
    ch.assert_conforms(impl_target, oracle_target, stateful("simple", [{"op": "reset"}]))


@pytest.mark.clauses("STATE-07", "ERR-14", "ERR-15")
@pytest.mark.parametrize("wrong", ["wrong_count", "wrong_batch", "wrong_width"])
@pytest.mark.parametrize("cells", ["simple", "lstm"])
def test_reset_states_with_incompatible_arrays(impl_target, oracle_target, wrong, cells):
    ch.assert_conforms(impl_target, oracle_target, stateful(cells, [{"op": "call"}, {"op": "reset", "states": wrong}]))


@pytest.mark.clauses("STATE-01", "ERR-30")
def test_stateful_layer_keeps_its_batch_size(impl_target, oracle_target):
    ch.assert_conforms(impl_target, oracle_target, stateful("simple", [{"op": "call"}, {"op": "call", "batch": 2}]))
