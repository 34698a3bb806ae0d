"""Configurations that take a path of their own through the oracle's code, which the other modules'
first examples do not take (docs/oracle-coverage.md): a reused GRU or LSTM called through the target's
compiler (tf_keras traces the cuDNN variant beside the standard one, and picks between them by the
mask), GRU and LSTM layers that cannot use cuDNN, the built-in cells' `implementation=1` without bias, an unrolled loop that keeps the last output
only, a stack whose first cell has no `output_size`, a stateful layer over a cell without
`get_initial_state` given its states, and a constants cell that returns a bare state. The quick suite
runs every example here: each is one small layer."""
import pytest

from rnnconf.engine import execute, judge
from rnnconf.conformance import cell_probes, helpers as ch
from rnnconf.engine.cases import normalize
from rnnconf.conformance.grids import case

TRACED = {  # (cells, flags, mask): cuDNN-eligible GRU and LSTM (the defaults), so the GPU variant is traced too
    "gru_time_major_backwards_masked": ("gru", "time_major_backwards", "right_padded"),
    "gru_state": ("gru", "state", "none"),
    "lstm_time_major_backwards_masked": ("lstm", "time_major_backwards", "right_padded"),
    "lstm_backwards_sequences_masked": ("lstm", "backwards_sequences", "left_padded"),
    "lstm_state": ("lstm", "state", "none"),
}
TRACED_CLAUSES = {"backwards": ("FLAG-03",), "time_major": ("FLAG-06",), "sequences": ("FLAG-01",),
                  "state": ("FLAG-02",), "masked": ("MASK-01", "CALL-02")}


def _reused(target, the_case):
    """cell_probes.reused_outcome, run where the target's namespace lives (target.call)."""
    return target.call(cell_probes.reused_outcome, the_case)


@pytest.mark.every_example
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.clauses(
    "CALL-01", *(c for word, ids in TRACED_CLAUSES.items() if word in n for c in ids))) for n in TRACED])
def test_reused_layer_through_the_compiler(impl_target, oracle_target, name):
    cells, flags, mask = TRACED[name]
    the_case = normalize(case(cells, flags, mask) | {"layer": "GRU" if cells == "gru" else "LSTM"})
    expected, oracle_path = _reused(oracle_target, the_case)
    assert oracle_path == ("traced" if oracle_target.compile is not None else "reused"), oracle_path
    actual, _ = _reused(impl_target, the_case)
    verdict = judge.judge(the_case, expected, actual, run_oracle=lambda c: execute.run(oracle_target, c),
                          impl_has=impl_target.has, known=ch.KNOWN,
                          passes=lambda c: judge.run_and_judge(impl_target, oracle_target, c)[2]["status"] == "pass")
    ch.conclude(impl_target, oracle_target, the_case, verdict)


PATHS = {  # name: (clauses, case)
    "gru_implementation_1_no_bias": (("CELL-01", "CELL-03"), case(
        [{"kind": "gru", "units": 3, "implementation": 1, "use_bias": False}], "sequences_state", "right_padded")),
    "gru_implementation_1_no_bias_reset_before": (("CELL-01", "CELL-03"), case(
        [{"kind": "gru", "units": 3, "implementation": 1, "use_bias": False, "reset_after": False}], "state")),
    "lstm_implementation_1_no_bias": (("CELL-01", "CELL-04"), case(
        [{"kind": "lstm", "units": 3, "implementation": 1, "use_bias": False}], "sequences_state", "right_padded")),
    # GRU and LSTM layers whose configuration rules out cuDNN take the generic loop, not the fused function
    "gru_layer_without_cudnn": (("CELL-01", "CELL-03"), case(
        [{"kind": "gru", "units": 3, "reset_after": False}], "sequences_state", "right_padded") | {"layer": "GRU"}),
    "lstm_layer_without_cudnn": (("CELL-01", "CELL-04"), case(
        [{"kind": "lstm", "units": 3, "activation": "relu"}], "sequences_state", "right_padded") | {"layer": "LSTM"}),
    "unroll_last_output": (("FLAG-05", "SHAPE-04"), case("simple", {"unroll": True, "return_state": True})),
    "stack_first_cell_without_output_size": (("CELL-07", "CELL-10"), case(
        [{"kind": "custom", "variant": "multi_no_out", "units": 3}, {"kind": "simple", "units": 2}], "state",
        cell_list=True)),
    "stateful_cell_without_get_initial_state_given_states": (("CELL-09", "STATE-04", "INIT-02", "FLAG-04"), case(
        [{"kind": "custom", "variant": "minimal", "units": 3}], {"stateful": True, "return_state": True},
        steps=[{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "states"}, {"op": "call"}])),
    "constants_cell_bare_state": (("CALL-05", "CONST-01", "CELL-02"), case(
        [{"kind": "custom", "variant": "constants_bare_state", "units": 3}], "sequences_state", "holes_and_empty_row",
        constants=[[3]])),
}


@pytest.mark.every_example
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.clauses(*PATHS[n][0])) for n in PATHS])
def test_path_matches_oracle(impl_target, oracle_target, name):
    ch.assert_conforms(impl_target, oracle_target, PATHS[name][1])
