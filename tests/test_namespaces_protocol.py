"""The adapter protocol (adapters/namespaces.py): how any tensor library sits behind a namespace.

A namespace may expose optional hooks (`rnnconf_to_tensor`, `ops`, `TensorShape`, `rnnconf_compile`,
`rnnconf_clear_session`, `Model`); tf_keras and Keras 3 get theirs from an adapter chosen by what the
namespace's RNN class is built on, so a package wrapping them needs none. What an implementation
lacks (NotImplementedError, an argument it refuses by name, a name it does not expose) is
"unsupported", never a failure.
"""
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import rnnconf.impl as impl
from rnnconf.engine import capabilities, error_catalog, execute
from rnnconf.adapters import in_process, namespaces

ROOT = Path(__file__).resolve().parents[1]
TFK_WRAPPER, K3_WRAPPER = "tests.wrapped_impls.tfk_wrapper", "tests.wrapped_impls.k3_wrapper"


# ---- a tensor library rnnconf does not know -------------------------------------------------------------
class Boxed:
    """A tensor of a library rnnconf knows nothing about: it holds an array but is none."""

    def __init__(self, array):
        self.array = np.asarray(array)


def _unbox(x, what):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_unbox(v, what) for v in x]
    if not isinstance(x, Boxed):
        raise ValueError(f"{what} must be Boxed tensors, got {type(x).__name__}")
    return x.array


class BoxedRNN(impl.RNN):
    """The reference RNN, refusing anything but its own tensors as initial_state and constants (as
    tf_keras refuses NumPy arrays there)."""

    def __call__(self, inputs, initial_state=None, constants=None, **kwargs):
        return super().__call__(inputs, initial_state=_unbox(initial_state, "initial_state"),
                                constants=_unbox(constants, "constants"), **kwargs)


def _leaves(nest):
    return [leaf for item in nest for leaf in _leaves(item)] if isinstance(nest, list) else [nest]


def _namespace(**hooks):
    names = {name: getattr(impl, name) for name in impl.__all__}
    return types.SimpleNamespace(**dict(names, RNN=BoxedRNN, **hooks))


CASE_WITH_STATES_AND_CONSTANTS = {"cells": [{"kind": "custom", "variant": "constants", "units": 3}],
                                  "constants": [[3]], "initial_state": True, "mask": [[1, 1, 0, 0], [1, 1, 1, 1]],
                                  "flags": {"return_state": True}, "seed": 11}


def test_rnnconf_to_tensor_converts_initial_state_and_constants():
    """With `rnnconf_to_tensor`, initial states and constants reach the layer as the library's own
    tensors and give the reference's results; without it they arrive as NumPy arrays."""
    reference = namespaces.resolve("reference")
    boxed = namespaces.target_for("boxed", "boxed", _namespace(rnnconf_to_tensor=Boxed))
    want = execute.run(reference, CASE_WITH_STATES_AND_CONSTANTS)
    got = execute.run(boxed, CASE_WITH_STATES_AND_CONSTANTS)
    assert not execute.has_error(want) and not execute.has_error(got), got
    for w, g in zip(_leaves(want["steps"][0]["result"]), _leaves(got["steps"][0]["result"]), strict=True):
        np.testing.assert_array_equal(g, w)
    bare = namespaces.target_for("bare", "bare", _namespace())
    error = execute.run(bare, CASE_WITH_STATES_AND_CONSTANTS)["steps"][0]["error"]
    assert error["type"] == "ValueError" and "must be Boxed tensors, got ndarray" in error["message"]


def test_unknown_namespace_gets_numpy_defaults_and_no_adapter():
    """A namespace built on no known framework: NumPy math, its own TensorShape, arrays passed as
    they are, no compiler, no session to clear, no Model."""
    target = namespaces.resolve("reference")
    assert target.adapter is None and target.framework == "other"
    array = np.ones(2)
    assert target.to_native(array) is array
    assert target.shape_type is impl.TensorShape
    assert target.ops.tanh is np.tanh
    assert target.compile is None and target.clear_session is None
    assert not target.has("Model") and not error_catalog.has_feature(target, "symbolic")


@pytest.mark.parametrize("wrapper, framework", [(TFK_WRAPPER, "tf_keras"), (K3_WRAPPER, "keras3")])
def test_wrapper_is_served_by_its_frameworks_adapter(wrapper, framework):
    """A package re-exporting tf_keras' or Keras 3's layers gets exactly the hooks the framework gets:
    detection looks at what its RNN class subclasses, not at module names."""
    short = {"tf_keras": "tf_keras", "keras3": "keras3"}[framework]
    original, wrapped = namespaces.resolve(short), namespaces.resolve(wrapper)
    assert wrapped.framework == original.framework == framework
    assert type(wrapped.to_native(np.zeros((2, 3), "float32"))) is type(original.to_native(np.zeros((2, 3), "float32")))
    assert wrapped.shape_type is original.shape_type
    assert wrapped.clear_session is original.clear_session is not None
    assert (wrapped.compile is None) == (original.compile is None)
    assert wrapped.get("Model") is original.get("Model") is not None  # from the adapter: not a layers name
    for name in namespaces.REQUIRED + namespaces.OPTIONAL:
        assert wrapped.has(name) == original.has(name), name


def test_subclass_of_a_framework_layer_is_detected_and_own_hooks_win():
    """A namespace whose RNN subclasses tf_keras' RNN is served by the tf_keras adapter, except where
    it defines a hook itself."""
    import tf_keras

    class MyRNN(tf_keras.layers.RNN):
        pass

    def mine(array):
        return array

    ns = types.SimpleNamespace(RNN=MyRNN, SimpleRNNCell=tf_keras.layers.SimpleRNNCell,
                               GRUCell=tf_keras.layers.GRUCell, LSTMCell=tf_keras.layers.LSTMCell,
                               rnnconf_to_tensor=mine)
    target = namespaces.target_for("mine", "mine", ns)
    assert target.framework == "tf_keras" and target.to_native is mine
    assert target.compile is not None and target.get("Model") is tf_keras.Model
    assert namespaces.adapter_for(types.SimpleNamespace(RNN=lambda cell: cell)) is None


# ---- what counts as unsupported ------------------------------------------------------------------------------
def _error(kind, message, stage="step 0"):
    return {"type": kind, "message": message, "stage": stage}


def _has_all(name):
    return True


@pytest.mark.parametrize("case, error, feature", [
    ({"initial_state": True}, _error("TypeError", "call() got an unexpected keyword argument 'initial_state'"),
     "initial_state"),
    ({"mask": [[1, 0]]}, _error("ValueError", "Keyword argument not understood: 'mask'"), "mask"),
    ({"training": True}, _error("TypeError", "call() got an unexpected keyword argument 'training'"), "training"),
    ({"constants": [[2]]}, _error("TypeError", "RNN.call() got an unexpected keyword argument 'constants'"),
     "constants"),
    ({"flags": {"time_major": True}}, _error("ValueError", "Unrecognized keyword arguments passed to RNN: "
                                             "{'time_major': True}", "construct"), "time_major"),
    ({"steps": [{"op": "call", "list_input": True}]}, _error("NotImplementedError", "list inputs"), "list inputs"),
    ({}, _error("NotImplementedError", ""), "a feature (NotImplementedError)"),
])
def test_refusals_are_unsupported(case, error, feature):
    """NotImplementedError, and an argument the case passes refused by name, name a missing feature."""
    assert capabilities.missing_feature(_has_all, case, error) == feature


@pytest.mark.parametrize("case, error", [
    ({"initial_state": True}, _error("ValueError", "Layer has 2 states but was passed 1 initial states.")),
    ({}, _error("TypeError", "call() got an unexpected keyword argument 'initial_state'")),  # not passed
    ({"flags": {"time_major": True}}, _error("ValueError", "Unrecognized keyword arguments passed to RNN: "
                                             "{'time_major': True}", "step 0")),  # not at construction
    ({"initial_state": True}, _error("InvalidArgumentError", "argument 'initial_state' has the wrong shape")),
])
def test_real_differences_stay_failures(case, error):
    """An error that refuses nothing the case passes is a difference, not a missing feature."""
    assert capabilities.missing_feature(_has_all, case, error) is None


def test_missing_optional_name_is_unsupported():
    """A case needing a name the namespace does not expose (here `Layer`, for a custom cell) is unsupported."""
    case = {"cells": [{"kind": "custom", "variant": "minimal", "units": 2}]}
    assert capabilities.missing_feature(lambda name: name != "Layer", case, None) == "Layer"


def test_reset_to_given_states_without_reset_states_is_unsupported():
    """A layer with Keras 3's `reset_state()` only cannot take states: NotImplementedError, which
    names the `states` argument of a reset step."""
    class Layer:
        resets = 0

        def reset_state(self):
            Layer.resets += 1

    target = namespaces.resolve("reference")
    target.reset_states(Layer())
    assert Layer.resets == 1
    with pytest.raises(NotImplementedError) as raised:
        target.reset_states(Layer(), [np.zeros((2, 3))])
    case = {"flags": {"stateful": True}, "steps": [{"op": "call"}, {"op": "reset", "states": "random"}]}
    error = execute.describe_error(raised.value, "step 1")
    assert capabilities.missing_feature(_has_all, case, error) == "states"


# ---- the whole check: a wrapper reports what its framework reports -------------------------------------------
# The suite where the hooks matter: initial states and constants (rnnconf_to_tensor), custom cells (ops,
# TensorShape), resets to given states, and error paths that need TensorFlow's own features.
SUITE = ["conformance/test_call_args.py", "conformance/test_cells.py", "conformance/test_stateful.py",
         "conformance/test_errors.py", "-k", "test_initial_state or test_constants_reach or high_dimensional or "
         "page_example_minimal or reset_states_with or ERR-03 or ERR-09 or ERR-10 or ERR-25"]
# A short campaign; no shrinking, so a discrepancy is recorded as found and both runs stay comparable.
FUZZ = ["--skip-suite", "--max-examples", "100", "--seed", "5", "--workers", "1", "--variants", "8",
        "--shrink-budget", "1e-9", "--no-progress"]
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")


KERAS3_DIFFERENCES = str(ROOT / "engine" / "known-differences" / "keras3.txt")


def _check(impl, out, *oracle):
    return [sys.executable, "-m", "rnnconf.cli", "check", "--impl", impl, *oracle, *FUZZ, "--out", str(out)]


def _campaign_report(out):
    data = json.loads((out / "results.json").read_text())
    return {"examples": data["examples"], "clauses": {c: v["status"] for c, v in data["clauses"].items()},
            "discrepancies": sorted((d["kind"], d["clauses"]) for d in data["discrepancies"])}


def test_wrappers_report_what_their_frameworks_report(tmp_path):
    """Packages re-exporting tf_keras' and Keras 3's layers, with no hook of their own, get each
    suite test's outcome (on the checks where hooks matter) and the campaign report (clause
    statuses, discrepancies by kind and clauses) of the framework they wrap, with the same seed and
    budget (Keras 3's campaigns against the reference oracle). tf_keras against itself passes every
    clause it reaches, so its wrapper's campaign must report no discrepancy and nothing but passes."""
    runs = {  # all at once: each is mostly TensorFlow starting up
        "suite": [sys.executable, "-m", "tests.wrapped_impls.suite_outcomes", str(tmp_path / "suite.json"),
                  TFK_WRAPPER, "tf_keras", K3_WRAPPER, "keras3", "--", *SUITE],
        "tfk": _check(TFK_WRAPPER, tmp_path / "tfk"),
        # Judged by the NumPy reference: the same oracle for both, and TensorFlow starts only for Keras 3.
        # The wrapper's authors pass Keras 3's known differences, which the named target ships.
        "k3": _check(K3_WRAPPER, tmp_path / "k3", "--oracle", "reference", "--known", KERAS3_DIFFERENCES),
        "keras3": _check("keras3", tmp_path / "keras3", "--oracle", "reference"),
    }
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in runs}
    procs = {name: subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=logs[name], stderr=subprocess.STDOUT,
                                    start_new_session=True)
             for name, cmd in runs.items()}
    try:
        status = {name: proc.wait(timeout=600) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # its workers too
                proc.wait()
        for log in logs.values():
            log.close()
    for name, code in status.items():
        assert code in (0, 1), f"{name} exited {code}:\n" + (tmp_path / f"{name}.log").read_text()[-3000:]

    suite = json.loads((tmp_path / "suite.json").read_text())
    assert suite[TFK_WRAPPER] == suite["tf_keras"]
    assert {t["outcome"] for t in suite["tf_keras"].values()} == {"passed"}
    assert suite[K3_WRAPPER] == suite["keras3"]
    assert {t["outcome"] for t in suite["keras3"].values()} >= {"passed", "failed", "unsupported"}

    tfk = _campaign_report(tmp_path / "tfk")
    assert tfk["examples"] == 100 and tfk["discrepancies"] == []
    assert set(tfk["clauses"].values()) <= {"pass", "oracle-deviation", "untested"}, tfk["clauses"]
    k3, keras3 = _campaign_report(tmp_path / "k3"), _campaign_report(tmp_path / "keras3")
    assert k3 == keras3
    assert keras3["examples"] == 100 and keras3["discrepancies"]


def test_a_target_shows_its_name_not_its_module_objects():
    """A failing suite test prints its fixtures into the report: no machine paths, no object ids."""
    from rnnconf.adapters import namespaces
    text = repr(namespaces.resolve("reference"))
    assert text == "Target('reference', module='rnnconf.impl')"


def test_keras3_is_compiled_by_its_backends_compiler():
    """tf.function on TensorFlow, jax.jit (through a StatelessScope) on JAX, where eager calls
    recompile their loop; none on the other backends."""
    import keras
    assert keras.backend.backend() == "tensorflow"
    assert in_process._keras3_adapter(keras).rnnconf_compile is in_process._tf_compile

    def on(backend):
        return types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: backend, clear_session=None),
                                     Model=None, utils=types.SimpleNamespace(set_random_seed=None))
    assert in_process._keras3_adapter(on("torch")).rnnconf_compile is None
    assert in_process._keras3_adapter(on("numpy")).rnnconf_compile is None
    on_jax = on("jax")
    assert in_process._keras3_adapter(on_jax).rnnconf_compile is in_process._jax_compile
