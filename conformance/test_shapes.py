"""SHAPE-01..SHAPE-04: what the layer returns, checked against the page's formulas."""
import numpy as np
import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.conformance.grids import case

B, T = 3, 5
CELLS = {  # cells, features, output trailing shape, state trailing shapes
    "simple": ([{"kind": "simple", "units": 4}], [2], (4,), [(4,)]),
    "lstm": ([{"kind": "lstm", "units": 2}], [3], (2,), [(2,), (2,)]),
    "custom_multi": ([{"kind": "custom", "variant": "multi_state", "units": 3}], [2], (3,), [(3,), (4,)]),
    "custom_hd": ([{"kind": "custom", "variant": "hd_state", "units": 3}], [2, 5], (2, 3), [(2, 3)]),
}


def _shapes(nest):
    return [np.shape(x) for x in ch.flatten(nest)]


@pytest.mark.clauses("SHAPE-01", "SHAPE-04")
@pytest.mark.parametrize("cells", sorted(CELLS))
def test_last_output_shape(impl_target, cells):
    spec, features, out, _ = CELLS[cells]
    result = ch.results(ch.outcome_of(impl_target, case(spec, features=features)))
    assert _shapes(result) == [(B,) + out]


@pytest.mark.clauses("SHAPE-01", "SHAPE-03")
@pytest.mark.parametrize("cells", sorted(CELLS))
@pytest.mark.parametrize("time_major", [False, True])
def test_sequence_shape(impl_target, cells, time_major):
    spec, features, out, _ = CELLS[cells]
    flags = {"return_sequences": True, "time_major": time_major}
    result = ch.results(ch.outcome_of(impl_target, case(spec, flags, features=features)))
    assert _shapes(result) == [((T, B) if time_major else (B, T)) + out]


@pytest.mark.clauses("SHAPE-02", "FLAG-02")
@pytest.mark.parametrize("cells", sorted(CELLS))
@pytest.mark.parametrize("sequences", [False, True])
def test_return_state_is_output_then_states(impl_target, cells, sequences):
    spec, features, out, states = CELLS[cells]
    flags = {"return_sequences": sequences, "return_state": True}
    result = ch.results(ch.outcome_of(impl_target, case(spec, flags, features=features)))
    assert isinstance(result, list) and len(result) == 1 + len(states), "a list: the output, then each state"
    assert _shapes(result) == [((B, T) if sequences else (B,)) + out] + [(B,) + s for s in states]


@pytest.mark.clauses("SHAPE-02", "CELL-10")
def test_stacked_states_nest_per_cell(impl_target, oracle_target):
    cells = [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}]
    _, actual = ch.assert_conforms(impl_target, oracle_target, case(cells, "state"))
    assert _shapes(ch.results(actual)) == [(B, 3), (B, 2), (B, 3), (B, 3)]


@pytest.mark.clauses("SHAPE-01", "SHAPE-02", "SHAPE-03", "SHAPE-04")
@pytest.mark.parametrize("cells", sorted(CELLS))
@pytest.mark.parametrize("flags", ["defaults", "sequences_state", "time_major"])
def test_shapes_match_oracle(impl_target, oracle_target, cells, flags):
    spec, features, _, _ = CELLS[cells]
    ch.assert_conforms(impl_target, oracle_target, case(spec, flags, features=features))
