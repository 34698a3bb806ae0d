"""CALL-01..CALL-05, CONST-01/02, INIT-01: the call arguments inputs, mask, training, initial_state, constants."""
import numpy as np
import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.conformance.grids import case

STATEFUL_CELLS = {
    "simple": [{"kind": "simple", "units": 3}],
    "lstm": [{"kind": "lstm", "units": 3}],
    "gru_stack": [{"kind": "gru", "units": 3}, {"kind": "lstm", "units": 2}],
    "custom_multi": [{"kind": "custom", "variant": "multi_state", "units": 3}],
    "custom_hd": [{"kind": "custom", "variant": "hd_state", "units": 3}],
}


@pytest.mark.clauses("CALL-01", "SHAPE-01")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("timesteps", [1, 2, 7])
def test_inputs_of_any_length(impl_target, oracle_target, dtype, timesteps):
    ch.assert_conforms(impl_target, oracle_target,
                       case("lstm", "sequences_state", dtype=dtype, timesteps=timesteps))


@pytest.mark.clauses("CALL-04", "INIT-01")
@pytest.mark.parametrize("cells", sorted(STATEFUL_CELLS))
@pytest.mark.parametrize("flags", ["state", "backwards_sequences", "unroll_backwards"])
def test_initial_state(impl_target, oracle_target, cells, flags):
    features = [2, 4] if cells == "custom_hd" else [4]
    the_case = case(STATEFUL_CELLS[cells], flags, "right_padded", features=features, initial_state=True,
                    cell_list=cells == "gru_stack")
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CALL-03")
@pytest.mark.parametrize("training", [None, False, True])
def test_training_reaches_the_cell(impl_target, oracle_target, training):
    the_case = case([{"kind": "custom", "variant": "training", "units": 3}], "sequences_state", training=training)
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CALL-03")
def test_training_changes_the_cell_output(impl_target):
    def output(training):
        return np.asarray(ch.results(ch.outcome_of(impl_target, case(
            [{"kind": "custom", "variant": "training", "units": 3}], timesteps=1, training=training))))
    np.testing.assert_allclose(output(True), 2 * output(False), rtol=1e-6,
                               err_msg="training=True must reach cell.call (the cell doubles its output)")


@pytest.mark.clauses("CALL-03")
@pytest.mark.parametrize("kind", ["simple", "gru", "lstm"])
@pytest.mark.parametrize("training", [False, True])
def test_dropout_only_when_training(impl_target, oracle_target, kind, training):
    """Dropout is random on both sides: with training the suite compares structure only, and checks
    on the implementation that dropout changed the values."""
    cells = [{"kind": kind, "units": 3, "dropout": 0.5, "recurrent_dropout": 0.5}]
    the_case = case(cells, "sequences_state", training=training)
    ch.assert_conforms(impl_target, oracle_target, the_case)
    if training:
        dropped = np.asarray(ch.results(ch.outcome_of(impl_target, the_case))[0])
        plain = np.asarray(ch.results(ch.outcome_of(impl_target, dict(the_case, training=False)))[0])
        assert not np.allclose(dropped, plain), "training=True with dropout 0.5 must change the outputs"


@pytest.mark.clauses("CALL-05", "CONST-01", "CELL-02")
@pytest.mark.parametrize("flags", ["sequences_state", "backwards_sequences", "unroll_backwards", "time_major"])
@pytest.mark.parametrize("mask", ["none", "holes_and_empty_row"])
def test_constants_reach_the_cell(impl_target, oracle_target, flags, mask):
    the_case = case([{"kind": "custom", "variant": "constants", "units": 3}], flags, mask, constants=[[3]])
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CONST-01", "CELL-10")
def test_constants_reach_stacked_cells(impl_target, oracle_target):
    cells = [{"kind": "custom", "variant": "constants", "units": 3}, {"kind": "simple", "units": 2}]
    ch.assert_conforms(impl_target, oracle_target, case(cells, "state", constants=[[3]]))


@pytest.mark.clauses("CONST-02", "ERR-08")
@pytest.mark.parametrize("cells", [[{"kind": "simple", "units": 3}], [{"kind": "custom", "variant": "minimal", "units": 3}]])
def test_constants_rejected_by_cells_without_them(impl_target, oracle_target, cells):
    ch.assert_conforms(impl_target, oracle_target, case(cells, constants=[[3]]))
