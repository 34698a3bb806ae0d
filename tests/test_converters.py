"""adapters/converters/common.py without any converter installed: the wrapper that builds the layer
with tf_keras, maps a call's arguments to a converted model's inputs and its outputs back to Keras'
nesting, keeps one conversion per weights and shapes, and turns refusals into "unsupported".

The stand-in converter runs the traced function itself (what a perfect converter would compute);
planted ones drop the mask, refuse, or fail at run time, and the judge must say so."""
import re
import types

import numpy as np
import pytest
import tensorflow as tf

from rnnconf.engine import execute
from rnnconf.adapters import namespaces
from rnnconf.engine.judge import judge
from rnnconf.fuzz import differential
from rnnconf.adapters.converters import common


class Faithful(common.Converter):
    """Computes exactly what the traced function computes; records what it was asked to convert."""
    name = "faithful"

    def __init__(self):
        self.converted = []

    def convert(self, function, specs, layer):
        self.converted.append([(s.name, tuple(s.shape), s.dtype.name) for s in specs])
        concrete = function.get_concrete_function()
        return lambda arrays: [t.numpy() for t in tf.nest.flatten(concrete(*arrays))]


class FaithfulWithState(Faithful):
    """Runs the traced functions themselves: their variables are the model's, kept between runs."""
    name = "faithful-stateful"
    keeps_state = True

    def convert_stateful(self, functions, specs, layer):
        run = self.convert(functions["serving_default"], specs, layer)
        assign, read = functions["assign"], functions["read"]
        return {"run": run, "assign": lambda arrays: assign(*arrays),
                "read": lambda: [v.numpy() for _, v in sorted(read().items())]}


class ForgetsState(FaithfulWithState):
    """A runtime that starts every run from zero states (the values written into it are lost)."""
    def convert_stateful(self, functions, specs, layer):
        model = super().convert_stateful(functions, specs, layer)
        assign = model["assign"]
        model["assign"] = lambda arrays: assign([np.zeros_like(a) for a in arrays])
        return model


class ThroughSavedModel(Faithful):
    """Converts from a SavedModel of the traced call, as the TFLite and OpenVINO adapters do."""
    def convert(self, function, specs, layer):
        with common.saved_model(function, layer):
            pass
        return super().convert(function, specs, layer)


class DropsMask(Faithful):
    """A converter that loses the mask input (runs as if every step were present)."""
    def convert(self, function, specs, layer):
        run = super().convert(function, specs, layer)
        return lambda arrays: run([np.ones_like(a) if a.dtype == bool else a for a in arrays])


class Refuses(Faithful):
    def convert(self, function, specs, layer):
        raise ValueError("op 'TensorListReserve' is not supported\nmore detail")


class FailsToRun(Faithful):
    def convert(self, function, specs, layer):
        def run(arrays):
            raise OSError("kernel not found")
        return run


def target_of(converter):
    ns = types.SimpleNamespace(**common.namespace(converter))
    return namespaces.target_for(converter.name, "rnnconf.adapters.converters.test", ns)


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


CASES = [
    {"cells": [{"kind": "lstm", "units": 3}], "flags": {"return_state": True}},
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 3}],
     "flags": {"return_sequences": True, "return_state": True, "go_backwards": True},
     "mask": [[1, 1, 0, 0], [1, 1, 1, 1]], "initial_state": True},
    {"cells": [{"kind": "custom", "units": 3, "variant": "constants"}], "constants": [[3]]},
    {"cells": [{"kind": "gru", "units": 2, "reset_after": False}], "embedding": {"vocab": 6}, "features": [3],
     "flags": {"return_sequences": True}},
    {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2}], "flags": {"time_major": True}, "dtype": "float64"},
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_a_faithful_conversion_passes(case, oracle):
    converter = Faithful()
    target = target_of(converter)
    verdict = judge(case, execute.run(oracle, case), execute.run(target, case))
    assert verdict["status"] == "pass", verdict["detail"]
    assert len(converter.converted) == 1  # the build call is Keras' own; the step's call converted


def test_call_arguments_become_model_inputs_in_order():
    converter = Faithful()
    case = {"cells": [{"kind": "lstm", "units": 3}], "mask": [[1, 1, 0, 0], [1, 1, 1, 1]], "initial_state": True}
    outcome = execute.run(target_of(converter), case)
    assert "error" not in outcome["steps"][0]
    # inputs, then the mask, then the LSTM's two states, each a separate input named arg<i>
    assert converter.converted == [[("arg0", (2, 4, 3), "float32"), ("arg1", (2, 4), "bool"),
                                    ("arg2", (2, 3), "float32"), ("arg3", (2, 3), "float32")]]


def test_one_conversion_serves_the_same_weights_and_shapes(oracle):
    converter = Faithful()
    session = execute.Session(target_of(converter))
    case = {"cells": [{"kind": "gru", "units": 3}], "mask": [[1, 1, 0, 0], [1, 1, 1, 1]], "seed": 5,
            "weights_seed": 5}
    variants = differential.variants(case, 6)
    assert len({v["seed"] for v in variants}) == 6 and {v.get("weights_seed") for v in variants} == {5}
    oracle_session = execute.Session(oracle)
    for v in variants:
        assert judge(v, oracle_session.run(v), session.run(v))["status"] == "pass"
    assert len(converter.converted) == 1
    # Other weights: converted again.
    session.run(dict(case, seed=6, weights_seed=6))
    assert len(converter.converted) == 2


def test_a_converter_that_loses_the_mask_is_a_discrepancy(oracle):
    case = {"cells": [{"kind": "lstm", "units": 3}], "mask": [[1, 1, 0, 0], [1, 0, 1, 1]],
            "flags": {"return_sequences": True}}
    verdict = judge(case, execute.run(oracle, case), execute.run(target_of(DropsMask()), case))
    assert verdict["status"] == "fail" and verdict["kind"] == "value"


def test_a_refused_conversion_is_unsupported_with_the_converters_reason(oracle):
    target = target_of(Refuses())
    case = CASES[0]
    actual = execute.run(target, case)
    error = actual["steps"][0]["error"]
    assert error["type"] == "NotImplementedError"
    assert error["message"] == "faithful cannot convert this layer: ValueError: op 'TensorListReserve' is not supported"
    verdict = judge(case, execute.run(oracle, case), actual, impl_has=target.has)
    assert verdict["status"] == "unsupported"
    assert verdict["detail"] == f"lacks {error['message']}"


def test_a_model_that_fails_to_run_is_a_failure(oracle):
    case = CASES[0]
    actual = execute.run(target_of(FailsToRun()), case)
    error = actual["steps"][0]["error"]
    assert error["type"] == "RuntimeError" and "kernel not found" in error["message"]
    target = target_of(FailsToRun())
    assert judge(case, execute.run(oracle, case), actual, impl_has=target.has)["status"] == "fail"


class LacksAKernelAtRunTime(Faithful):
    """A runtime that loads the model and says, when it runs it, that it has no kernel for an
    operator at this dtype (tract's float64 Sigmoid): its adapter raises NotImplementedError."""
    def convert(self, function, specs, layer):
        def run(arrays):
            raise NotImplementedError("tract: Sigmoid does not support F64")
        return run


def test_a_runtimes_refusal_at_run_time_is_unsupported_with_its_words(oracle):
    target = target_of(LacksAKernelAtRunTime())
    case = CASES[0]
    actual = execute.run(target, case)
    error = actual["steps"][0]["error"]
    assert error["type"] == "NotImplementedError"
    assert error["message"] == "tract: Sigmoid does not support F64"
    verdict = judge(case, execute.run(oracle, case), actual, impl_has=target.has)
    assert verdict["status"] == "unsupported"
    assert verdict["detail"] == "lacks tract: Sigmoid does not support F64"


def test_stateful_layers_are_unsupported_where_the_runtime_keeps_no_state(oracle):
    converter = Faithful()
    target = target_of(converter)
    case = {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
            "steps": [{"op": "call"}, {"op": "reset"}, {"op": "call"}]}
    actual = execute.run(target, case)
    assert actual["steps"][0]["error"]["type"] == "NotImplementedError"
    assert "keeps no state" in actual["steps"][0]["error"]["message"]
    assert judge(case, execute.run(oracle, case), actual, impl_has=target.has)["status"] == "unsupported"
    assert converter.converted == []


STATEFUL = [
    {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset"}, {"op": "call"}, {"op": "states"}]},
    {"cells": [{"kind": "lstm", "units": 2}, {"kind": "gru", "units": 3}], "flags": {"stateful": True, "return_state": True},
     "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}, {"op": "states"}]},
    {"cells": [{"kind": "lstm", "units": 2}], "flags": {"stateful": True},  # Keras' own error (ERR path)
     "steps": [{"op": "call"}, {"op": "reset", "states": "wrong_count"}]},
]


@pytest.mark.parametrize("case", STATEFUL, ids=range(len(STATEFUL)))
def test_a_runtime_that_keeps_state_runs_stateful_layers(case, oracle):
    converter = FaithfulWithState()
    target = target_of(converter)
    verdict = judge(case, execute.run(oracle, case), execute.run(target, case), impl_has=target.has)
    assert verdict["status"] == "pass", verdict["detail"]
    assert len(converter.converted) == 1  # one model for all the calls; resets act on its variables


def test_a_runtime_that_loses_state_between_runs_is_a_discrepancy(oracle):
    case = STATEFUL[0]
    verdict = judge(case, execute.run(oracle, case), execute.run(target_of(ForgetsState()), case))
    assert verdict["status"] == "fail" and verdict["kind"] == "value"


def test_keras_own_errors_pass_through_unconverted(oracle):
    converter = Faithful()
    case = {"cells": [{"kind": "simple", "units": 0}]}  # ERR-20: refused by Keras, never converted
    target = target_of(converter)
    verdict = judge(case, execute.run(oracle, case), execute.run(target, case), impl_has=target.has)
    assert verdict["status"] == "pass" and converter.converted == []


def test_reasons_lose_this_machines_paths_and_mlir_locations():
    mlir = ("Could not translate MLIR to FlatBuffer.<unknown>:0: error: loc(callsite(fused[\"Transpose:\", "
            "\"rnn/transpose@__inference_call_1\"] at fused[\"x\"])): 'tf.Transpose' op is neither a custom op "
            "nor a flex op\n<unknown>:0: note: called from")
    assert common._first_line(Exception(mlir)) == "'tf.Transpose' op is neither a custom op nor a flex op"
    wrapped = "in user code:\n\n    File \"/x/site-packages/keras/a.py\", line 3\n\n    ValueError: bad output"
    assert common._first_line(Exception(wrapped)) == "ValueError: bad output"
    assert common._first_line(Exception("/root/.venv/lib/python3.11/site-packages/tf/x.py: broke")) == "tf/x.py: broke"
    keras = ("in user code:\n\n    File \"x.py\", line 1\n\n    TypeError: Exception encountered when calling layer "
             "'rnn' (type RNN).\n    \n    true_fn and false_fn must match\n    \n    Call arguments received:\n"
             "      • constants=None\n")
    assert common._first_line(Exception(keras)) == "true_fn and false_fn must match"


def test_a_call_keras_makes_eagerly_but_cannot_trace_is_unsupported(oracle):
    """tf_keras' traced stack of cells with the states given as a tuple mixes tuples and lists in a
    tf.cond: conversion starts from a trace, so the converter never gets this model."""
    case = {"cells": [{"kind": "simple", "units": 3}, {"kind": "lstm", "units": 2}], "cell_list": True,
            "flags": {"stateful": True, "return_state": True}, "initial_state": True, "initial_state_form": "tuple"}
    target = target_of(FaithfulWithState())
    actual = execute.run(target, case)
    error = actual["steps"][0]["error"]
    assert error["type"] == "NotImplementedError" and error["message"].startswith("tf_keras cannot trace this call")
    assert "true_fn and false_fn" in error["message"]
    assert judge(case, execute.run(oracle, case), actual, impl_has=target.has)["status"] == "unsupported"


def test_keras_refuses_a_later_call_as_the_oracle_does_though_a_trace_would_accept_it(oracle):
    # A stateful layer called with another batch size: eager tf_keras refuses it, a trace does not.
    case = {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
            "steps": [{"op": "call"}, {"op": "call", "batch": 3}]}
    converter = FaithfulWithState()
    target = target_of(converter)
    expected, actual = execute.run(oracle, case), execute.run(target, case)
    assert "error" in expected["steps"][1] and "error" in actual["steps"][1]
    assert judge(case, expected, actual, impl_has=target.has)["status"] == "pass"
    assert len(converter.converted) == 1  # the first call's model; the refused call converted nothing


def test_the_namespace_is_tf_keras_for_the_error_catalogue():
    target = target_of(Faithful())
    assert target.framework == "tf_keras" and target.compile is None and not target.has("Model")
    assert target.has("Embedding") and target.has("Layer")


def test_the_converters_known_issue_files_parse_and_point_somewhere(capsys):
    import os
    import py_compile
    from rnnconf.engine.known_issues import read_known_issues
    folder = os.path.join(os.path.dirname(common.__file__), "known-issues")
    for name in ("onnx.txt", "onnx-reference.txt", "onnx-tract.txt", "tflite.txt", "openvino.txt"):
        entries = read_known_issues(os.path.join(folder, name), warn=True)
        assert entries and "warning" not in capsys.readouterr().err
        for entry in entries:  # an upstream report, or a reproducer fit to file one
            script = re.search(r"upstream/\S+\.py", entry["note"] or "")
            assert entry["url"] or script, entry
            if script:
                py_compile.compile(os.path.join(os.path.dirname(folder), script.group(0)), doraise=True)


def test_a_layer_tensorflow_cannot_save_is_unsupported_as_tensorflows_refusal(oracle):
    # A stack of custom cells with constants, its states given as a tuple: traced, but not saved.
    case = {"cells": [{"kind": "custom", "variant": "init_state", "units": 3},
                      {"kind": "custom", "variant": "constants", "units": 2}], "cell_list": True, "features": [1],
            "batch": 4, "timesteps": 2, "constants": [[2]], "initial_state": True, "initial_state_form": "tuple"}
    target = target_of(ThroughSavedModel())
    actual = execute.run(target, case)
    error = actual["steps"][0]["error"]
    assert error["type"] == "NotImplementedError"
    assert error["message"].startswith("faithful converts a SavedModel, and TensorFlow cannot save this layer as one")
    assert judge(case, execute.run(oracle, case), actual, impl_has=target.has)["status"] == "unsupported"


def test_a_call_argument_the_adapter_does_not_convert_is_never_answered_by_keras():
    layer = target_of(Faithful()).ns.SimpleRNN(2)
    x = np.zeros((2, 3, 3), "float32")
    layer(x)  # the build call
    with pytest.raises(TypeError):  # Keras' own refusal
        layer(x, no_such_argument=1)
    layer.keras.call = lambda inputs, extra=None, **kwargs: inputs  # an argument Keras would take
    with pytest.raises(NotImplementedError, match="extra"):
        layer(x, extra=1)


def test_a_converted_model_is_sampled_unseeded(monkeypatch):
    """TensorFlow seeded before a trace gives the trace's random ops fixed seeds, which a converted
    model keeps: TFLite then returned one dropout mask at every run. A converter's namespace offers no
    seeding hook, so dropout samples of a converted model are drawn as its users get them."""
    from rnnconf.engine import dropout
    target = target_of(Faithful())
    assert target.get("rnnconf_set_seed") is None
    seeded = []
    monkeypatch.setattr(tf.random, "set_seed", lambda seed: seeded.append(seed))
    case = {"cells": [{"kind": "simple", "units": 2, "recurrent_dropout": 0.5}], "training": True,
            "batch": 1, "timesteps": 3, "flags": {"return_sequences": True}}
    outcome = dropout.sample(target, case, 16, seed=0)
    assert seeded == [] and outcome["samples"] == 16
    assert dropout.sample(namespaces.resolve("tf_keras"), case, 2, seed=0)["samples"] == 2 and seeded == [0], \
        "the oracle's samples stay seeded (replayable)"
