"""The tfjs target (adapters/tfjs): Keras' arguments as tfjs', layers run by TensorFlow.js in Node and
judged against the oracle, and the standalone JavaScript reproducers.

The argument table's tests need nothing. The others need Node and tfjs' packages already in
`$RNNCONF_CACHE/tfjs`: `make test` installs nothing, so without them they are skipped with a reason
(`python -m rnnconf.adapters.tfjs.install` installs them, as `rnnconf check --impl tfjs` does on first use).
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rnnconf.engine import compare, execute
from rnnconf.adapters import namespaces
from rnnconf.adapters.tfjs import install, tfjs_arguments

needs_tfjs = pytest.mark.skipif(
    not (install.node_available() and install.installed()),
    reason="needs Node.js and @tensorflow/tfjs in $RNNCONF_CACHE/tfjs, which `make test` does not install; "
           "run `python -m rnnconf.adapters.tfjs.install` (npm ci of adapters/tfjs/package-lock.json) to enable these tests")


# ---- the argument table: no Node needed ------------------------------------------------------------
def test_keras_arguments_become_tfjs_camel_case_with_keras_defaults_made_explicit():
    args = tfjs_arguments("LSTM", {"units": 3, "return_sequences": True, "go_backwards": True,
                                   "unit_forget_bias": False, "activation": "hard_sigmoid", "dtype": "float32",
                                   "batch_input_shape": (2, 4, 3)})
    assert args == {"units": 3, "returnSequences": True, "goBackwards": True, "unitForgetBias": False,
                    "activation": "hardSigmoid", "dtype": "float32", "batchInputShape": [2, 4, 3],
                    # tfjs' default is hardSigmoid: Keras 2's sigmoid is passed explicitly
                    "recurrentActivation": "sigmoid"}
    # GRU: Keras 2's reset_after=True is passed (tfjs refuses it), a user's value wins
    assert tfjs_arguments("GRUCell", {"units": 2})["resetAfter"] is True
    assert tfjs_arguments("GRUCell", {"units": 2, "reset_after": False})["resetAfter"] is False


def test_what_tfjs_lacks_is_refused_as_unsupported_and_defaults_pass():
    for key in ("time_major", "zero_output_for_mask"):
        assert tfjs_arguments("RNN", {key: False}) == {}  # Keras' default: what tfjs does anyway
        with pytest.raises(NotImplementedError, match=key):
            tfjs_arguments("RNN", {key: True})
    with pytest.raises(NotImplementedError, match="float64"):
        tfjs_arguments("SimpleRNNCell", {"units": 2, "dtype": "float64"})
    with pytest.raises(TypeError, match="not understood: 'bogus'"):
        tfjs_arguments("RNN", {"bogus": 1})


def test_keras_none_activation_is_tfjs_linear():
    # tfjs reads a null activation as "use the default" (tanh in simpleRNNCell); Keras' None is the identity
    assert tfjs_arguments("SimpleRNNCell", {"units": 2, "activation": None})["activation"] == "linear"
    assert tfjs_arguments("LSTMCell", {"units": 2, "recurrent_activation": None})["recurrentActivation"] == "linear"
    assert tfjs_arguments("GRUCell", {"units": 2, "activation": "tanh"})["activation"] == "tanh"


# ---- tfjs in Node ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tfjs():
    return namespaces.resolve("tfjs")


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


def _mismatches(oracle, tfjs, case):
    return compare.compare(execute.run(oracle, case), execute.run(tfjs, case), case)


@needs_tfjs
@pytest.mark.parametrize("case", [
    {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 3}], "flags": {"return_state": True, "go_backwards": True}},
    {"cells": [{"kind": "gru", "units": 2, "reset_after": False, "recurrent_activation": "hard_sigmoid"}],
     "flags": {"return_sequences": True}, "mask": [[1, 1, 0, 0], [1, 0, 1, 1]]},
    {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}, {"op": "states"}]},
    {"cells": [{"kind": "lstm", "units": 2}], "embedding": {"vocab": 5}, "mask": [[1, 1, 0, 0], [1, 1, 1, 0]]},
    {"cells": [{"kind": "simple", "units": 2, "activation": None}], "flags": {"return_sequences": True}},
], ids=["lstm-state-backwards", "gru-v1-mask", "stateful-reset", "embedding-mask", "linear-activation"])
def test_tfjs_layers_agree_with_the_oracle(oracle, tfjs, case):
    outcome = execute.run(tfjs, case)
    assert not execute.has_error(outcome), outcome
    assert compare.compare(execute.run(oracle, case), outcome, case) == []


@needs_tfjs
@pytest.mark.parametrize("cell", ["SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells"])
def test_cells_refuse_get_initial_state_as_unsupported(tfjs, cell):
    # tfjs' cells have no getInitialState: NotImplementedError makes CELL-08 and ERR-18 unsupported
    make = tfjs.ns.StackedRNNCells if cell == "StackedRNNCells" else getattr(tfjs.ns, cell)
    kwargs = {"reset_after": False} if cell == "GRUCell" else {}  # tfjs has only GRU's reset_after=False
    instance = make([tfjs.ns.SimpleRNNCell(2)]) if cell == "StackedRNNCells" else make(2, **kwargs)
    with pytest.raises(NotImplementedError, match="getInitialState"):
        instance.get_initial_state(batch_size=2, dtype="float32")


@needs_tfjs
def test_weights_cross_bit_for_bit_in_keras_order(tfjs):
    layer = tfjs.ns.LSTM(3)
    layer(np.zeros((2, 4, 5), np.float32))
    shapes = [w.shape for w in layer.get_weights()]
    assert shapes == [(5, 12), (3, 12), (12,)]  # kernel, recurrent kernel, bias: Keras' order and gate layout
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    layer.set_weights(weights)
    for got, want in zip(layer.get_weights(), weights):
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes()


@needs_tfjs
def test_a_let_go_layers_deferred_weights_do_not_fail_the_next_request(tfjs):
    """set_weights is deferred to the layer's next call; a layer dropped before that call takes its
    deferred op with it, not into the next case's first request (there: "no tfjs object N")."""
    import gc
    layer = tfjs.ns.SimpleRNN(2)
    layer(np.zeros((1, 3, 4), np.float32))
    layer.set_weights(layer.get_weights())
    del layer
    gc.collect()
    other = tfjs.ns.SimpleRNN(3)
    assert other(np.zeros((1, 3, 4), np.float32)).shape == (1, 3)


@needs_tfjs
def test_tfjs_errors_keep_their_class_and_message(tfjs):
    with pytest.raises(NotImplementedError, match="reset_after"):
        tfjs.ns.GRU(2)  # Keras 2's default reset_after=True: tfjs' GRUCell refuses it
    layer = tfjs.ns.RNN(tfjs.ns.SimpleRNNCell(2))
    with pytest.raises(NotImplementedError, match="Constants support is not implemented"):
        layer(np.zeros((2, 3, 4), np.float32), constants=[np.zeros((2, 2), np.float32)])


@needs_tfjs
def test_a_tfjs_difference_is_reported_with_tfjs_own_nesting(oracle, tfjs):
    # Keras nests a stack's states per cell ([out, h1, [h2, c2]]); tfjs returns them flat, last cell first.
    case = {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}], "flags": {"return_state": True}}
    found = _mismatches(oracle, tfjs, case)
    assert [m.kind for m in found] == ["structure"]


STACKED = {"id": "d-0001", "kind": "structure", "clauses": ["CELL-10"], "detail": "states nested otherwise",
           "config": {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}],
                      "flags": {"return_state": True}}}
AGREEING = {"id": "d-0002", "kind": "value", "clauses": ["MASK-01"], "detail": "(agrees)",
            "config": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2}], "mask": [[1, 1, 0], [1, 0, 1]],
                       "timesteps": 3, "flags": {"return_sequences": True}}}


def _node(script, cwd, node_path):
    env = {k: v for k, v in os.environ.items() if k != "NODE_PATH"}
    if node_path:
        env["NODE_PATH"] = node_path
    return subprocess.run(["node", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@needs_tfjs
def test_js_reproducer_exits_1_while_tfjs_differs_and_0_where_it_agrees(tmp_path):
    from rnnconf.reports import tfjs_repro as repro
    empty = tmp_path / "empty"
    empty.mkdir()
    for item, status in ((STACKED, 1), (AGREEING, 0)):
        path = repro.write(str(tmp_path / "run"), dict(item))
        copy = empty / os.path.basename(path)
        shutil.copy(path, copy)  # standalone: nothing of rnnconf beside it
        done = _node(str(copy), str(empty), install.node_modules())
        assert done.returncode == status, done.stdout + done.stderr
    assert "nested as Keras nests them" in _node(str(empty / "d-0001.js"), str(empty), install.node_modules()).stdout
    assert (tmp_path / "run" / "repro" / "d-0001.md").read_text().count("```js") == 1
    # Without tfjs on its module path it says so and exits 2.
    assert _node(str(empty / "d-0001.js"), str(empty), None).returncode == 2


@needs_tfjs
def test_js_reproducer_embeds_the_oracle_error_and_judges_the_class(tmp_path):
    from rnnconf.reports import tfjs_repro as repro
    item = {"id": "d-0003", "kind": "error", "clauses": ["CONST-01"], "detail": "constants",
            "config": {"cells": [{"kind": "simple", "units": 2}], "constants": [[2]]}}
    text = repro.script(item)
    assert '"error": ["Exception", "ValueError"]' in text or '"ValueError"' in text
    path = tmp_path / "d-0003.js"
    path.write_text(text)
    done = _node(str(path), str(tmp_path), install.node_modules())
    assert done.returncode == 1 and "tfjs NotImplementedError" in done.stdout, done.stdout + done.stderr


@needs_tfjs
def test_js_reproducer_of_dropout_judges_samples(tmp_path):
    # tf.layers.rnn over a cell with dropout draws the cell's masks once and keeps them: every
    # training call gives the same values, where Keras draws new masks at each call.
    from rnnconf.reports import tfjs_repro as repro
    item = {"id": "d-0004", "kind": "value", "clauses": ["CALL-03"], "detail": "dropout",
            "config": {"cells": [{"kind": "lstm", "units": 3, "dropout": 0.5}], "cell_list": True,
                       "training": True}}
    path = tmp_path / "d-0004.js"
    path.write_text(repro.script(item, samples=100))
    done = _node(str(path), str(tmp_path), install.node_modules())
    assert done.returncode == 1 and "mean over 100 samples" in done.stdout and "(sd 0.0000)" in done.stdout, \
        done.stdout + done.stderr
    # The layer that redraws its masks at each call (tf.layers.lstm) agrees in distribution.
    fused = dict(item, config={"layer": "LSTM", "cells": [{"kind": "lstm", "units": 3, "dropout": 0.5}],
                               "training": True})
    path.write_text(repro.script(fused, samples=100))
    done = _node(str(path), str(tmp_path), install.node_modules())
    assert done.returncode == 0, done.stdout + done.stderr


@needs_tfjs
def test_js_reproducer_of_dropout_judges_the_spread_too(tmp_path):
    # tfjs' GRU drops the state it carries with its one recurrent mask (h = z * dropped h_tm1 + ...):
    # inverted dropout keeps the mean, so only the spread of the samples tells it from Keras'.
    from rnnconf.reports import tfjs_repro as repro
    item = {"id": "d-0005", "kind": "value", "clauses": ["CALL-03"], "detail": "dropout",
            "config": {"layer": "GRU", "cells": [{"kind": "gru", "units": 3, "reset_after": False,
                                                  "recurrent_dropout": 0.5}],
                       "timesteps": 1, "initial_state": True, "training": True, "seed": 1091}}
    path = tmp_path / "d-0005.js"
    path.write_text(repro.script(item, samples=400))
    done = _node(str(path), str(tmp_path), install.node_modules())
    assert done.returncode == 1 and "spread otherwise" in done.stdout, done.stdout + done.stderr


def test_install_refuses_cleanly_without_node(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNCONF_CACHE", str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(install.NodeSetupError, match="Node.js"):
        install.ensure(log=sys.stderr)


# ---- tfjs' known differences (engine/known-differences/tfjs.txt) ---------------------------------------
TFJS_STACK = {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}], "seed": 1}


@needs_tfjs
def test_flat_reversed_stack_states_differ_by_design(oracle, tfjs):
    from rnnconf.engine import judge, known_differences
    known = known_differences.read(known_differences.target_file("tfjs"))
    case = dict(TFJS_STACK, flags={"return_state": True})
    assert judge.run_and_judge(tfjs, oracle, case)[2]["kind"] == "structure"
    verdict = judge.run_and_judge(tfjs, oracle, case, known=known)[2]
    assert verdict["status"] == known_differences.STATUS and "recurrent.ts" in verdict["difference"]["url"]
    # states given in Keras' order, of different sizes: tfjs refuses them, by the same convention
    given = {"cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 5}], "initial_state": True,
             "seed": 1}
    verdict = judge.run_and_judge(tfjs, oracle, given, known=known)[2]
    assert verdict["status"] == known_differences.STATUS, verdict
    # single-state cells: the reversed list nests like Keras' and differs in shapes, or values
    for units in (3, 2):
        single = {"cells": [{"kind": "simple", "units": units}, {"kind": "simple", "units": 2}], "cell_list": True,
                  "flags": {"return_state": True}, "seed": 3}
        plain = judge.run_and_judge(tfjs, oracle, single)[2]
        assert plain["status"] == "fail" and plain["kind"] == ("shape" if units == 3 else "value"), plain
        assert judge.run_and_judge(tfjs, oracle, single, known=known)[2]["status"] == known_differences.STATUS


@needs_tfjs
@pytest.mark.parametrize("case", [
    # initial states of one width, given in Keras' order: tfjs runs each cell on the other's
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 2}], "initial_state": True, "seed": 4},
    # the states a stateful stack keeps, read back: one flat list, last cell first
    {"cells": [{"kind": "lstm", "units": 2}, {"kind": "lstm", "units": 2}], "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "states"}], "seed": 5},
    # resetStates(states) in Keras' order, cells of one width: the states land on the other cell
    {"cells": [{"kind": "gru", "units": 2, "reset_after": False}, {"kind": "simple", "units": 2}],
     "flags": {"stateful": True}, "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}],
     "seed": 6},
    # resetStates(states) in Keras' order, cells of other widths: refused
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 3}], "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}], "seed": 6},
    # a built stack given one tensor: both refuse the count, tfjs counting its flat states
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 2}], "flags": {"return_state": True},
     "initial_state_form": "tensor", "steps": [{"op": "call"}, {"op": "call", "initial_state": True}], "seed": 7},
], ids=["initial-one-width", "read-states", "reset-one-width", "reset-other-widths", "count-of-flat-states"])
def test_states_given_or_kept_in_reverse_cell_order_differ_by_design(oracle, tfjs, case):
    from rnnconf.engine import judge, known_differences
    known = known_differences.read(known_differences.target_file("tfjs"))
    assert judge.run_and_judge(tfjs, oracle, case)[2]["status"] == "fail"
    verdict = judge.run_and_judge(tfjs, oracle, case, known=known)[2]
    assert verdict["status"] == known_differences.STATUS, verdict


@needs_tfjs
def test_a_stack_bug_beside_the_reverse_cell_order_still_fails(oracle, tfjs):
    # tfjs' masked-step bug outputs the initial state: reversing the given states does not explain it
    from rnnconf.engine import judge, known_differences
    known = known_differences.read(known_differences.target_file("tfjs"))
    case = {"cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 2}], "initial_state": True,
            "mask": [[0, 1, 1], [1, 1, 1]], "timesteps": 3, "flags": {"return_sequences": True}, "seed": 2}
    assert judge.run_and_judge(tfjs, oracle, case, known=known)[2]["status"] == "fail"


@needs_tfjs
def test_the_masked_initial_state_bug_is_not_a_known_difference(oracle, tfjs):
    from rnnconf.engine import judge, known_differences
    known = known_differences.read(known_differences.target_file("tfjs"))
    case = {"cells": [{"kind": "simple", "units": 2}], "mask": [[0, 1, 1], [1, 1, 1]], "initial_state": True,
            "timesteps": 3, "flags": {"return_sequences": True}, "seed": 2}
    assert judge.run_and_judge(tfjs, oracle, case, known=known)[2]["status"] == "fail"
