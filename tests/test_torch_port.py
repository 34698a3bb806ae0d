"""The port written by hand (examples/torch_port: Keras 2's layers over torch.nn.RNN/GRU/LSTM) as the
`torch-port` target: registered, found on rnnconf's source root, and, where its environment is
installed, equal to the oracle on each cell's gate layout (GRU's z, r, h against torch's r, z, n, both
`reset_after`s, LSTM's one bias against torch's two), and on the flags it runs by hand."""
import importlib.util

import pytest

from rnnconf.engine import judge
from rnnconf.adapters import namespaces
from rnnconf.adapters import targets

SPEC = targets.TARGETS["torch-port"]
needs_env = pytest.mark.skipif(
    not targets.installed(SPEC),
    reason="the torch-port environment is not installed: `rnnconf check --impl torch-port` creates it "
           "(torch's CPU wheel from PIP_FIND_LINKS)")

CASES = {
    "simple": {"cells": [{"kind": "simple", "units": 3}], "batch": 2, "timesteps": 4},
    "gru": {"cells": [{"kind": "gru", "units": 3}], "batch": 2, "timesteps": 4},
    "gru-reset_before": {"cells": [{"kind": "gru", "units": 3, "reset_after": False}], "batch": 2, "timesteps": 4},
    "lstm": {"cells": [{"kind": "lstm", "units": 3}], "batch": 2, "timesteps": 4, "flags": {"return_state": True}},
    "gru-backwards-masked": {"cells": [{"kind": "gru", "units": 2}], "batch": 2, "timesteps": 4,
                             "flags": {"go_backwards": True, "return_sequences": True, "return_state": True},
                             "mask": [[1, 1, 0, 0], [1, 1, 1, 1]]},
    "lstm-stateful": {"cells": [{"kind": "lstm", "units": 2}], "batch": 2, "timesteps": 3,
                      "flags": {"stateful": True},
                      "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset"}, {"op": "call"}]},
    "stack": {"cells": [{"kind": "lstm", "units": 3}, {"kind": "gru", "units": 2}], "batch": 2, "timesteps": 3,
              "flags": {"return_state": True}},
    # the fixed batch is the inputs' second axis when time-major (timesteps and batch differ)
    "stateful-time_major": {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3,
                            "flags": {"stateful": True, "time_major": True}, "steps": [{"op": "call"}, {"op": "call"}]},
    # a stack takes constants and gives them to no cell (none of Keras' built-in cells takes them)
    "stack-constants": {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 2}], "batch": 2,
                        "timesteps": 3, "constants": [[2]]},
    # with unroll, a mask longer than the inputs: the port refuses it, as the page and the oracle's loop do
    "unroll-longer-mask": {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3,
                           "flags": {"unroll": True}, "mask": [[1, 1, 0, 1], [1, 0, 1, 0]]},
}


def test_the_port_is_a_target_found_on_rnnconf_source_root():
    assert SPEC.impl == "examples.torch_port" and SPEC.heavy and "PIP_FIND_LINKS" in SPEC.note
    assert all("==" in pin for pin in SPEC.pins) and any(pin.startswith("torch==") for pin in SPEC.pins)
    assert importlib.util.find_spec(SPEC.impl) is not None  # found without importing torch
    assert any(line.startswith("torch-port: --impl examples.torch_port") for line in targets.listing())


@pytest.fixture(scope="module")
def port():
    target = namespaces.resolve("torch-port")
    yield target
    target.worker.stop()


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


@needs_env
@pytest.mark.parametrize("name", list(CASES))
def test_the_port_computes_what_keras_computes(port, oracle, name):
    _, actual, verdict = judge.run_and_judge(port, oracle, dict(CASES[name], seed=11))
    want = "oracle-deviation" if name == "unroll-longer-mask" else "pass"
    assert verdict["status"] == want, (verdict["detail"], actual.get("error"))


@needs_env
def test_what_the_port_does_not_compute_is_unsupported_not_failed(port, oracle):
    case = {"cells": [{"kind": "lstm", "units": 2, "recurrent_activation": "hard_sigmoid"}], "batch": 2,
            "timesteps": 3, "seed": 11}
    _, actual, verdict = judge.run_and_judge(port, oracle, case)
    assert verdict["status"] == "unsupported", verdict["detail"]
    assert "recurrent_activation" in actual["error"]["message"]
