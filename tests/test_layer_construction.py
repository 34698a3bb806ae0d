"""How a case's layer is constructed (rnnconf.engine.cases.build_layer): the implementation is asked for a
feature in the way it supports it, and no argument is passed at its default value unless the case is
about that argument. A feature is unsupported only where the implementation refuses the feature itself.

The implementations here are the NumPy reference with Keras 3's construction rules: no
`batch_input_shape` (a stateful layer gets its batch size from its first call), `time_major` refused
even at False, and a `reset_states()` that takes no values."""
import runpy
import types

import numpy as np
import pytest

import rnnconf.impl as impl
from rnnconf.engine import capabilities, judge
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import build_layer, layer_flags, normalize
from rnnconf.conformance.grids import case as grid_case
from rnnconf.fuzz import machine
from rnnconf.reports import repro


def _keras3_rules(base, refuse=("batch_input_shape", "time_major")):
    """`base` (a layer class of the reference) refusing `refuse` at construction as Keras 3 does, with a
    reset that takes no values."""
    class Keras3Style(base):
        def __init__(self, *args, **kwargs):
            refused = {k: v for k, v in kwargs.items() if k in refuse}
            if refused:
                raise ValueError(f"Unrecognized keyword arguments passed to {base.__name__}: {refused}")
            super().__init__(*args, **kwargs)

        def reset_states(self):
            return super().reset_states()
    Keras3Style.__name__ = Keras3Style.__qualname__ = base.__name__
    return Keras3Style


def _namespace(refuse=("batch_input_shape", "time_major")):
    names = {n: getattr(impl, n) for n in dir(impl) if not n.startswith("_")}
    names.update({n: _keras3_rules(getattr(impl, n), refuse) for n in ("RNN", "SimpleRNN", "GRU", "LSTM")})
    return types.SimpleNamespace(**names)


@pytest.fixture(scope="module")
def keras3_style():
    return namespaces.target_for("keras3_style", "keras3_style", _namespace())


@pytest.fixture(scope="module")
def reference():
    return namespaces.resolve("reference")


STATEFUL = {"cells": [{"kind": "lstm", "units": 3}], "flags": {"stateful": True, "return_state": True},
            "batch": 3, "timesteps": 4, "features": [2],
            "steps": [{"op": "call"}, {"op": "call"}, {"op": "states"}, {"op": "reset"}, {"op": "call"}]}


@pytest.mark.parametrize("layer", ["RNN", "LSTM"])
def test_a_stateful_case_is_checked_where_batch_input_shape_is_refused(keras3_style, reference, layer):
    case = dict(STATEFUL, layer=layer)
    _, actual, verdict = judge.run_and_judge(keras3_style, reference, case)
    assert verdict["status"] == "pass", verdict["detail"]
    assert len(actual["steps"]) == len(STATEFUL["steps"])
    states = actual["steps"][2]["result"]
    assert [np.shape(s) for s in states] == [(3, 3), (3, 3)], "the first call fixed the batch size"


def test_a_stateful_case_still_gives_batch_input_shape_where_it_is_taken(reference):
    layer = build_layer(reference, STATEFUL)
    assert layer._batch_input_shape == (3, 4, 2)


def test_a_stateful_case_is_unsupported_where_stateful_itself_is_refused(reference):
    refuses_stateful = namespaces.target_for("no_stateful", "no_stateful", _namespace(refuse=("stateful",)))
    _, _, verdict = judge.run_and_judge(refuses_stateful, reference, STATEFUL)
    assert verdict["status"] == "unsupported" and verdict["missing"] == "stateful", verdict


def test_a_wrong_stateful_case_fails_where_batch_input_shape_is_refused(keras3_style):
    """The fallback builds the same layer; it does not hide what the implementation does wrong."""
    class Forgets(_namespace().RNN):
        def __call__(self, *args, **kwargs):
            result = super().__call__(*args, **kwargs)
            self.reset_states()
            return result
    forgets = namespaces.target_for("forgets", "forgets", types.SimpleNamespace(**dict(vars(_namespace()), RNN=Forgets)))
    _, _, verdict = judge.run_and_judge(forgets, namespaces.resolve("reference"), STATEFUL)
    assert verdict["status"] == "fail" and verdict["kind"] == "value"


def test_setting_states_is_unsupported_where_reset_takes_no_values(keras3_style, reference):
    case = dict(STATEFUL, steps=[{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "states"}])
    _, actual, verdict = judge.run_and_judge(keras3_style, reference, case)
    assert verdict["status"] == "unsupported" and verdict["missing"] == "states", verdict
    assert actual["steps"][1]["error"]["type"] == "NotImplementedError"


def test_an_argument_at_its_default_is_not_passed_unless_the_case_is_about_it():
    assert layer_flags({"flags": {"time_major": False, "return_state": True}}) == {"return_state": True}
    assert layer_flags({"flags": {}}) == {}
    explicit = grid_case("simple", "explicit_defaults")
    assert layer_flags(explicit) == explicit["flags"] and "time_major" in layer_flags(explicit)
    # The constructor arguments a case uses (what an implementation can lack) follow the same rule.
    _, ctor_args, _ = capabilities.features_used(normalize(
        {"cells": [{"kind": "gru", "units": 2, "reset_after": True, "implementation": 1}],
         "flags": {"time_major": False, "stateful": True}}))
    assert ctor_args == {"implementation", "stateful"}


def test_a_case_is_not_refused_over_an_argument_at_its_default(keras3_style, reference):
    drawn = {"cells": [{"kind": "gru", "units": 2, "dropout": 0.0, "use_bias": True}],
             "flags": {"time_major": False, "go_backwards": False, "return_sequences": True}}
    _, _, verdict = judge.run_and_judge(keras3_style, reference, drawn)
    assert verdict["status"] == "pass", verdict["detail"]
    _, _, verdict = judge.run_and_judge(keras3_style, reference, grid_case("simple", "explicit_defaults"))
    assert verdict["status"] == "unsupported" and verdict["missing"] == "time_major", verdict


def test_the_stateful_machine_uses_no_argument_an_implementation_may_lack_besides_stateful():
    assert machine.FEATURES == ("stateful",)
    _, ctor_args, _ = capabilities.features_used(normalize(STATEFUL))
    assert "batch_input_shape" not in ctor_args


def test_a_reproducer_builds_a_stateful_layer_where_batch_input_shape_is_refused(tmp_path, reference):
    """The script builds the layer as build_layer does: with batch_input_shape where taken, without it
    where refused; both sides then give the reference's results."""
    case = dict(STATEFUL, flags=dict(STATEFUL["flags"], time_major=False))
    item = {"id": "d-x", "kind": "value", "config": case, "repro": "repro/d-x.py", "detail": "",
            "fingerprint": {"kind": "value", "core": "output"}}
    text, arrays = repro.script(item, "keras3_style", "reference")
    assert not arrays and "time_major" not in text.split("def run(")[1].split("def ")[0]
    path = tmp_path / "d-x.py"
    path.write_text(text)
    script = runpy.run_path(str(path), run_name="reproducer")
    keras3_steps, reference_steps = script["outcome"](_namespace()), script["outcome"](impl)
    assert not any(isinstance(s, Exception) for s in keras3_steps), keras3_steps
    assert script["differences"](reference_steps, keras3_steps) == []
