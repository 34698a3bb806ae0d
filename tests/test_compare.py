"""conformance/compare.py's value tolerance: wide enough for rounding the oracle itself amplifies,
narrow enough for the smallest semantic slips."""
import numpy as np
import pytest

from conformance import compare, execute, namespaces
from conformance.cases import normalize

# Found by a 15-minute soak (reference vs tf_keras): float64 results 5e-13 and 1e-12 relative apart,
# over the bound before it counted stacked cells, stateful calls and amplification at scale 1.3.
AMPLIFIED_F64 = [
    {"cells": [{"kind": "gru", "units": 1, "recurrent_activation": "tanh"}], "seed": 4248948, "layer": "GRU",
     "features": [2], "batch": 2, "timesteps": 5, "dtype": "float64", "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "call"}, {"op": "call"}, {"op": "states"}, {"op": "call"}], "weight_scale": 1.3},
    {"cells": [{"kind": "custom", "variant": "init_state", "units": 1},
               {"kind": "gru", "units": 5, "activation": "linear", "recurrent_activation": "tanh"},
               {"kind": "gru", "units": 4, "activation": "linear"}],
     "seed": 522540370, "cell_list": True, "features": [2], "batch": 3, "timesteps": 5, "dtype": "float64",
     "flags": {}, "weight_scale": 1.3},
]


@pytest.mark.parametrize("case", AMPLIFIED_F64, ids=["stateful-gru", "stacked-linear-gru"])
def test_the_reference_agrees_with_the_oracle_on_amplified_float64_cases(case):
    oracle, reference = namespaces.resolve("tf_keras"), namespaces.resolve("reference")
    case = normalize(case)
    assert compare.compare(execute.run(oracle, case), execute.run(reference, case), case) == []


def test_recurrent_steps_count_cells_and_carried_calls():
    case = normalize({"cells": [{"kind": "gru", "units": 1}] * 2, "timesteps": 4})
    assert compare.recurrent_steps(case) == compare.recurrent_steps(case, 3) == 10
    stateful = dict(case, flags={"stateful": True})
    assert compare.recurrent_steps(stateful, 3) == 40


@pytest.mark.parametrize("dtype, slip, rounding", [("float32", 1e-2, 1e-5), ("float64", 1e-6, 1e-10)])
def test_a_small_slip_is_still_caught_at_the_widest_bound(dtype, slip, rounding):
    """The widest bound there is (8 steps, a stack of 3, 5 stateful calls; float64 at its growth cap)
    is still below a 1e-2 relative difference in float32 and 1e-6 in float64: a hard_sigmoid slope
    (0.2 against 1/6) or a dropped bias changes values by far more."""
    case = normalize({"cells": [{"kind": "simple", "units": 3}] * 3, "timesteps": 8, "dtype": dtype,
                      "flags": {"stateful": True}, "steps": [{"op": "call"}] * 5})
    expected = np.linspace(-2, 2, 12).reshape(3, 4).astype(dtype)
    slipped = expected * (1 + slip)
    outcome = lambda x: {"steps": [{"op": "call", "result": x}] * 5, "error": None}  # noqa: E731
    assert {m.kind for m in compare.compare(outcome(expected), outcome(slipped), case)} == {"value"}
    assert compare.compare(outcome(expected), outcome(expected * (1 + rounding)), case) == []
