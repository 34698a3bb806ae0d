"""Target tf_keras-xla (adapters/converters/xla.py): tf_keras' layers whose calls after the build are
compiled by XLA. Run here in rnnconf's own environment (the module path; the target's environment
has the same TensorFlow and tf_keras releases)."""
import numpy as np
import pytest

from rnnconf.engine import execute, judge
from rnnconf.adapters import namespaces


@pytest.fixture(scope="module")
def xla():
    return namespaces.resolve("rnnconf.adapters.converters.xla")


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


@pytest.mark.parametrize("case", [
    {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 3}], "flags": {"return_state": True}},
    {"cells": [{"kind": "gru", "units": 2}], "mask": [[1, 1, 0, 0], [1, 0, 1, 1]],
     "flags": {"return_sequences": True, "go_backwards": True}},
    {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}, {"op": "states"}]},
], ids=["lstm-state", "gru-mask-backwards", "stateful-reset"])
def test_compiled_calls_agree_with_the_oracle(xla, oracle, case):
    before = xla.ns.rnnconf_conversions()
    _, actual, verdict = judge.run_and_judge(xla, oracle, case)
    assert verdict["status"] == "pass", verdict["detail"]
    assert xla.ns.rnnconf_conversions() > before  # the steps ran through a compiled function


def test_later_calls_run_through_xla(xla):
    layer = xla.ns.SimpleRNN(2)
    x = np.ones((1, 3, 2), np.float32)
    layer(x)  # the build: Keras' own eager call
    original = xla.ns.rnnconf_conversions()
    layer(x)
    assert xla.ns.rnnconf_conversions() == original + 1
    model = next(iter(layer._models.values()))
    # The compiled function is XLA's: it has an HLO module for these argument shapes.
    import tensorflow as tf
    run = model["run"]
    function = run.__closure__[0].cell_contents
    assert isinstance(function, tf.types.experimental.GenericFunction)
    assert "HloModule" in function.experimental_get_compiler_ir(tf.constant(x))(stage="hlo")


def test_outcome_is_the_compiled_one(xla):
    # Where the compiled call's result is made to differ, the outcome shows it: nothing eager hides it.
    case = {"layer": "SimpleRNN", "cells": [{"kind": "simple", "units": 2}], "steps": [{"op": "call"}]}
    from rnnconf.adapters.converters import xla as module
    convert = module.XlaCompiler.convert

    def broken(self, function, specs, layer):
        run = convert(self, function, specs, layer)
        return lambda arrays: [a + 1 for a in run(arrays)]
    module.XlaCompiler.convert = broken
    try:
        outcome = execute.run(xla, dict(case, seed=123))
    finally:
        module.XlaCompiler.convert = convert
    reference = execute.run(namespaces.resolve("tf_keras"), dict(case, seed=123))
    np.testing.assert_allclose(outcome["steps"][0]["result"], reference["steps"][0]["result"] + 1, rtol=1e-5)
