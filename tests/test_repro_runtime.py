"""The reproducers' harness (reports/repro_runtime.py) as code: its judgement, piece by piece, and that
what a reproducer holds is that code, copied, with the settings it reads."""
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rnnconf.reports import repro, repro_cells, repro_harness
from rnnconf.reports import repro_runtime as rt

TESTS = Path(__file__).parent


class InvalidArgumentError(Exception):
    """TensorFlow's class of that name, as the harness sees it: by name only."""


def steps_of(*results, read=()):
    steps = rt.Steps(results)
    steps.read = read
    return steps


# ---- values -------------------------------------------------------------------------------------------
def test_value_difference_allows_the_rounding_bound_and_no_more():
    """float32: 32 * eps * steps * (1 + max|expected|); float64 grows it by min(1.3 ** steps, 1e4)."""
    expected = np.array([0.5, -1.0], np.float32)
    bound = 32 * np.finfo(np.float32).eps * 3 * (1 + 1.0)
    assert rt.value_difference(expected, expected + np.float32(bound * 0.9), 3) is None
    said = rt.value_difference(expected, expected + np.array([0, bound * 1.5], np.float32), 3)
    assert said is not None and said.startswith("max abs diff ") and "first at (1,)" in said, said
    wide = np.array([1.0], np.float64)
    bound64 = 32 * np.finfo(np.float64).eps * 4 * 2 * 1.3 ** 4
    assert rt.value_difference(wide, wide + bound64 * 0.9, 4) is None
    assert rt.value_difference(wide, wide + bound64 * 1.1, 4) is not None


def test_value_difference_wants_nan_and_inf_at_the_same_places():
    expected = np.array([np.nan, np.inf, 1.0], np.float32)
    assert rt.value_difference(expected, expected.copy(), 1) is None
    assert "first at (0,)" in rt.value_difference(expected, np.array([0.0, np.inf, 1.0], np.float32), 1)
    assert "first at (1,)" in rt.value_difference(expected, np.array([np.nan, -np.inf, 1.0], np.float32), 1)


def test_differences_name_nesting_shape_and_dtype_per_step(monkeypatch):
    monkeypatch.setattr(rt, "ROUNDING_STEPS", [2, 2, 2])
    a = np.zeros((2, 3), np.float32)
    expected = steps_of(a, [a, a], a)
    assert rt.differences(expected, steps_of(a.copy(), [a, a], a)) == []
    found = rt.differences(expected, steps_of(a.astype(np.float64), [a, [a, a]], np.zeros((2, 4), np.float32)))
    assert found == ["step 0 output: expected float32[2, 3], got float64[2, 3]",
                     "step 1: expected results [float32[2, 3], float32[2, 3]], got "
                     "[float32[2, 3], [float32[2, 3], float32[2, 3]]]",
                     "step 2 output: expected float32[2, 3], got float32[2, 4]"]
    assert rt.differences(expected, steps_of(a, [a, a])) == ["expected 3 step results, got 2"]


def test_differences_compare_values_only_where_the_reproducer_says_so(monkeypatch):
    """VALUES_COMPARED is the reproducer's: False (dropout while training) leaves values alone."""
    monkeypatch.setattr(rt, "ROUNDING_STEPS", [2])
    expected, actual = steps_of(np.zeros(2, np.float32)), steps_of(np.ones(2, np.float32))
    assert len(rt.differences(expected, actual)) == 1
    monkeypatch.setattr(rt, "VALUES_COMPARED", False)
    assert rt.differences(expected, actual) == []


def test_states_read_from_the_layer_are_named_so(monkeypatch):
    monkeypatch.setattr(rt, "ROUNDING_STEPS", [2])
    expected = steps_of([np.zeros(2, np.float32)], read=(0,))
    found = rt.differences(expected, steps_of([np.ones(2, np.float32)]))
    assert len(found) == 1 and found[0].startswith("step 0 layer.states[0]: max abs diff"), found


# ---- errors -------------------------------------------------------------------------------------------
def test_outcome_keeps_the_steps_before_an_error_and_ends_with_it(monkeypatch):
    def run(layers, steps):
        steps.add(layers.value)
        raise ValueError("the second call refuses")
    monkeypatch.setattr(rt, "run", run)
    got = rt.outcome(SimpleNamespace(value=[1.0, 2.0]))
    assert isinstance(got, rt.Steps) and len(got) == 2
    assert np.array_equal(got[0], [1.0, 2.0]) and isinstance(got[1], ValueError)


def test_error_difference_takes_a_class_or_its_python_equivalent():
    """Same class, a subclass, or the Python class a TensorFlow-only class means (EQUIVALENT): no
    difference without facts to compare; another class, or an error on one side only, is one."""
    assert rt.error_difference(0, ValueError("a"), ValueError("b")) == []
    assert rt.error_difference(0, ValueError("a"), type("Sub", (ValueError,), {})("b")) == []
    assert rt.error_difference(0, InvalidArgumentError("a"), ValueError("b")) == []
    assert rt.error_difference(0, ValueError("a"), TypeError("b")) == [
        "step 0: the oracle raises ValueError: a, the implementation TypeError: b"]
    assert rt.error_difference(1, ValueError("a"), np.zeros(1)) == [
        "step 1: the oracle raises ValueError: a; the implementation does not"]
    assert rt.error_difference(1, np.zeros(1), KeyError("k")) == [
        "step 1: the implementation raises KeyError: 'k'; the oracle does not"]


def test_message_drops_colour_codes_and_the_keras_wrapper():
    wrapped = ValueError("Exception encountered when calling layer 'rnn'.\n\n\x1b[1mwrong shape\x1b[0m\n\nArgs: ...")
    assert rt.message(wrapped) == "wrong shape"
    assert rt.error_text(ValueError("x" * 400)) == "ValueError: " + "x" * 300


FACTS = re.compile(r"expects (?P<expected>\d+) states?, but it received (?P<received>\d+)")


def test_facts_difference_names_a_fact_the_implementation_does_not_state(monkeypatch):
    oracle = ValueError("Layer expects 2 states, but it received 3 state tensors")
    assert rt.error_difference(0, oracle, ValueError("wrong count")) == []  # no FACTS: the class is what counts
    monkeypatch.setattr(rt, "FACTS", FACTS)
    monkeypatch.setattr(rt, "FACT_NAMES", ("expected", "received"))
    assert rt.facts_difference(0, oracle, ValueError("Layer expects 2 states, but it received 3 tensors")) == []
    assert rt.facts_difference(0, oracle, ValueError("got 2 where 3 belong")) == []  # stated, in other words
    found = rt.error_difference(0, oracle, ValueError("Layer expects 3 states, but it received 2 tensors"))
    assert len(found) == 1 and "does not state expected='2', received='3'" in found[0], found
    assert "expected='2'" in rt.facts_difference(0, oracle, ValueError("wrong: 3"))[0]
    # Another error than the reproducer's: its class is what counts.
    assert rt.facts_difference(0, ValueError("something else"), ValueError("entirely")) == []


def test_tokens_read_numbers_and_names_without_brackets_or_wrappers():
    assert rt.tokens("(2, 5)") == rt.tokens("[2,5]") == ["2", "5"]
    assert rt.tokens("TensorShape([None, -3, 1.5]) of dtype float32") == ["None", "-3", "1.5", "of", "float32"]
    assert rt.contained(["2", "5"], ["a", "2", "5", "b"]) and not rt.contained(["2", "5"], ["5", "2"])


# ---- gradients ----------------------------------------------------------------------------------------
def test_gradient_differences_compare_each_gradient_within_its_bound(monkeypatch):
    monkeypatch.setattr(rt, "ROUNDING_STEPS", [3])
    monkeypatch.setattr(rt, "GRADIENT_STEPS", 4)
    w = np.ones((2, 2), np.float32)
    expected, same, off = steps_of(np.zeros(1)), steps_of(np.zeros(1)), steps_of(np.zeros(1))
    expected.gradients = {0: [("d inputs", None), ("d weights[0]", w)]}
    same.gradients = {0: [("d inputs", None), ("d weights[0]", w + 32 * np.finfo(np.float32).eps * 3 * 3)]}
    off.gradients = {0: [("d inputs", np.ones(1, np.float32)), ("d weights[0]", w)]}
    assert rt.gradient_differences(0, expected, same) == []
    found = rt.gradient_differences(0, expected, off)  # a disconnected gradient counts as zeros
    assert len(found) == 1 and found[0].startswith("step 0 d inputs: max abs diff 1 "), found
    monkeypatch.setattr(rt, "GRADIENTS", True)
    assert rt.differences(expected, off) == found


# ---- a namespace whose RNN is a factory function (the converters') -----------------------------------
def converter_like_namespace():
    def RNN(cell, **kwargs):  # noqa: N802 - a converter's namespace builds its layer in a function
        raise AssertionError("not called here")
    return SimpleNamespace(RNN=RNN)


def test_the_harness_takes_a_namespace_whose_rnn_is_a_function():
    """With the frameworks imported, tensors() leaves NumPy as it is, gradients_of() says it knows no
    differentiation, and the custom cells' ops are NumPy's: none asks issubclass of a function."""
    pytest.importorskip("tf_keras")
    assert "tf_keras" in sys.modules
    layers = converter_like_namespace()
    states = [np.zeros((1, 2), np.float32)]
    assert rt.tensors(layers, states)[0] is states[0]
    with pytest.raises(NotImplementedError, match="no automatic differentiation"):
        rt.gradients_of(layers)
    scope = {"sys": sys, "np": np, "SimpleNamespace": SimpleNamespace, "builds_layers_of": rt.builds_layers_of}
    exec(repro_cells._framework_ops_source({"dot", "tanh"}), scope)
    ops = scope["framework_ops"](layers)
    assert np.array_equal(ops.dot(np.eye(2), np.ones((2, 1))), np.ones((2, 1))) and ops.tanh is np.tanh


# ---- a reproducer holds this code, copied ---------------------------------------------------------------
def _script(config, kind="value"):
    item = {"id": "d-0001", "repro": "repro/d-0001.py", "kind": kind, "config": config, "detail": "differs"}
    return repro.script(item, "reference", "reference")[0]


def test_a_reproducer_holds_the_runtimes_functions_verbatim():
    """Every function of the parts a case needs is in the script as written in repro_runtime.py; the
    parts it does not need are left out; the settings part is never copied."""
    plain = _script({"cells": [{"kind": "simple", "units": 2}]})
    graded = _script({"cells": [{"kind": "lstm", "units": 2}], "gradients": True, "initial_state": True,
                      "flags": {"stateful": True}})
    for function in (rt.namespace, rt.builds_layers_of, rt.Steps, rt.outcome, rt.value_difference, rt.differences,
                     rt.error_difference, rt.main):
        assert inspect.getsource(function) in plain and inspect.getsource(function) in graded, function.__name__
    for function in (rt.gradients_of, rt.gradient_differences, rt.stateful_layer, rt.tensors) + rt.GRADIENT_FUNCTIONS:
        assert inspect.getsource(function) in graded and inspect.getsource(function) not in plain, function.__name__
    for function in (rt.facts_difference, rt.tokens, rt.hung, rt.run):
        assert inspect.getsource(function) not in plain and inspect.getsource(function) not in graded
    assert list(repro_harness.runtime_parts()) == ["settings", "namespace", "stateful", "tensors", "run", "compare",
                                                   "errors", "facts", "timeout", "gradients", "main"]


def test_a_reproducer_defines_every_setting_the_runtime_reads():
    """The names of the runtime's settings part are all defined by a written script, and nothing else
    of that part comes along."""
    settings = [n for n in ("IMPL", "ORACLE", "ROUNDING_STEPS", "VALUES_COMPARED", "UNDECIDED", "FACTS",
                            "TIMEOUT_S", "GRADIENTS") if hasattr(rt, n)]
    scope = {"__name__": "reproducer"}
    exec(compile(_script({"cells": [{"kind": "simple", "units": 2}]}), "reproducer", "exec"), scope)
    assert all(name in scope for name in settings)
    assert scope["VALUES_COMPARED"] is True and scope["FACTS"] is None and scope["TIMEOUT_S"] is None
    assert scope["run"].__doc__ != rt.run.__doc__


@pytest.mark.parametrize("hangs, status, said", [
    (True, 1, "the implementation has not finished after 1 s\ndiscrepancy persists\n"),
    (False, 0, "no discrepancy: both sides agree\n"),
])
def test_a_timeout_reproducer_ends_a_hang_of_the_implementation(tmp_path, hangs, status, said):
    """TIMEOUT_S is read at run time: a hang of the implementation ends the script (exit 1) after it."""
    text = _script({"cells": [{"kind": "simple", "units": 2}], "flags": {"unroll": True}}, kind="timeout")
    assert "\nTIMEOUT_S = 60  #" in text
    path = tmp_path / "d-0001.py"
    path.write_text(text.replace("\nTIMEOUT_S = 60  #", "\nTIMEOUT_S = 1  #"))
    impl = "fuzz_targets.hangs" if hangs else "reference"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS)] + sys.path))
    proc = subprocess.run([sys.executable, str(path), "--impl", impl, "--oracle", "reference"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == status and proc.stdout.endswith(said), proc.stdout + proc.stderr


def test_a_layer_that_keeps_no_states_reads_as_none_on_both_apis():
    """Keras 3 says layer.states is None on a layer that is not stateful, Keras 2 [None] per state:
    both read as None; states that are there read as themselves."""
    assert rt.states_of(SimpleNamespace(states=None)) is None
    assert rt.states_of(SimpleNamespace(states=[None, None])) is None
    assert rt.states_of(SimpleNamespace(states=[[None, None], None])) is None  # a stack's, per cell
    kept = [np.zeros((2, 3)), np.ones((2, 3))]
    assert rt.states_of(SimpleNamespace(states=tuple(kept))) == kept


def test_reading_no_states_is_the_same_outcome_in_keras_2_and_keras_3():
    """The engine's `states` step (execute.Session) reads a layer that keeps no states as None too."""
    from rnnconf.engine import execute
    from rnnconf.adapters import namespaces
    for cells in ([{"kind": "simple", "units": 2}], [{"kind": "lstm", "units": 2}, {"kind": "simple", "units": 3}]):
        case = {"cells": cells, "steps": [{"op": "call"}, {"op": "states"}]}
        for name in ("reference", "tf_keras"):
            assert execute.run(namespaces.resolve(name), case)["steps"][1]["result"] is None, (name, cells)
