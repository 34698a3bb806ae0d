"""ERR-01..ERR-47: the oracle's error paths (error-paths.md), one test per path.

Every test runs the path's trigger on the oracle and on the implementation and checks that
  - the oracle raises the documented class with a message error_catalog recognises as this path
    (this pins the oracle: a tf_keras release that changes a path fails here, not in the fuzzer);
  - the implementation raises the same class (compare.error_class_match: where the oracle's class is a
    TensorFlow runtime error, another framework's own refusal) and its message states the same facts
    (error_catalog.facts_match: facts, not wording; see that module's docstring), unless the oracle's
    message is a TensorFlow kernel's and the implementation's class is not TensorFlow's.
Triggers that fit a case are error_catalog.ERROR_CASES (the fuzzer samples them too); the others are
the direct calls below. A path that needs a TensorFlow feature the implementation lacks
(error_catalog.FEATURES) is still run on the oracle, then skipped as "unsupported: ...".
"""
import contextlib

import numpy as np
import pytest

from conformance import capabilities, compare, custom_cells, error_catalog, execute
from conformance import helpers as ch
from conformance.cases import normalize
from conformance.error_catalog import CATALOG, ERROR_CASE_VARIANTS, ERROR_CASES

X = np.ones((2, 3, 4), "float32")                  # batch 2, 3 timesteps, 4 features
MASK = np.array([[1, 1, 0], [1, 0, 0]], bool)


# ---- the checks --------------------------------------------------------------------------------
def _describe(error):
    return f"{error['type']}: {error['message'][:400]!r}" if error else "no error"


def check_oracle(err_id, oracle, error, case=None):
    entry = CATALOG[err_id]
    assert error, f"{oracle.name} raised nothing on the {err_id} trigger; error-paths.md says {entry['class']}"
    assert error_catalog.classify(error, case) == err_id, (
        f"{oracle.name}'s error on the {err_id} trigger is not the documented one "
        f"({entry['class']} matching {entry['pattern'].pattern!r}): {_describe(error)}")


def check_impl(err_id, impl, oracle_error, impl_error, replay):
    assert impl_error, (f"{impl.name} raised nothing on the {err_id} trigger; the oracle raises "
                        f"{_describe(oracle_error)}\n\n{replay}")
    match = compare.error_class_match(oracle_error, impl_error)
    assert match is not None, (
        f"{err_id}: {impl.name} raises {_describe(impl_error)}; the oracle raises {_describe(oracle_error)}"
        f"\n\n{replay}")
    if match["facts"]:
        ok, detail = error_catalog.facts_match(oracle_error, impl_error, err_id)
        assert ok, detail + "\n\n" + replay


def skip_if_unsupported(err_id, impl, names=()):
    feature = CATALOG[err_id]["needs"]
    if not error_catalog.has_feature(impl, feature):
        pytest.skip(f"unsupported: {impl.name} lacks {feature} ({err_id})")
    for name in names:
        if not impl.has(name):
            pytest.skip(f"unsupported: {impl.name} lacks {name} ({err_id})")


# ---- triggers written as cases -------------------------------------------------------------------
def _case_params():
    items = list(ERROR_CASES.items()) + ERROR_CASE_VARIANTS
    seen = {}
    for err_id, case in items:
        seen[err_id] = seen.get(err_id, 0) + 1
        yield pytest.param(err_id, case, id=f"{err_id}-{seen[err_id]}", marks=pytest.mark.clauses(err_id))


@pytest.mark.parametrize("err_id, case", list(_case_params()))
def test_error_case(impl_target, oracle_target, err_id, case):
    expected = execute.run(oracle_target, case)
    check_oracle(err_id, oracle_target, ch.first_error(expected), case)
    names, _, _ = capabilities.features_used(case)
    skip_if_unsupported(err_id, impl_target, [n for n in names if n != "StackedRNNCells"])
    expected, actual, verdict = ch.run_pair(impl_target, oracle_target, case)
    if verdict["status"] == "unsupported":
        pytest.skip(f"unsupported: {impl_target.name} {verdict['detail']} ({err_id})")
    ch.skip_if_by_design(verdict)
    replay = "Reproduce with:\n" + ch.snippet(case, impl_target.name, oracle_target.name)
    assert verdict["status"] == "pass", (
        "\n".join(f"{m.kind} at step {m.step}: {m.detail}" for m in verdict["mismatches"]) or verdict["detail"]
    ) + "\n\n" + replay
    check_impl(err_id, impl_target, ch.first_error(expected), ch.first_error(actual), replay)


# ---- triggers that need direct calls ----------------------------------------------------------------
DIRECT = []   # (err_id, trigger(target), stage, optional namespace names and constructor arguments it uses)


def direct(err_id, stage="call", names=(), args=(), legal=None):
    """Register a trigger. On an oracle-limitation path (error_catalog.LIMITATIONS) the trigger returns
    its results, computed with seeded weights, where the implementation accepts the input, and
    `legal(target)` computes the same with the equivalent input the oracle accepts: an implementation
    that accepts is judged on that meaning (lenient where it matches)."""
    def register(trigger):
        DIRECT.append((err_id, trigger, stage, {"names": tuple(names), "args": tuple(args), "legal": legal}))
        return trigger
    return register


def _seeded(layer_or_model, call):
    """`call()` once to build, the weights set from a fixed seed, `call()` again: its results as NumPy."""
    call()
    rng = np.random.default_rng(25)
    layer_or_model.set_weights([rng.normal(0.0, 0.5, np.shape(w)).astype("float32")
                                for w in layer_or_model.get_weights()])
    return execute.to_numpy(call())


def _model_result(t, inputs, outputs, data):
    """The results of Model(inputs, outputs) on `data`, with seeded weights."""
    model = t.get("Model")(inputs, outputs)
    return _seeded(model, lambda: model.predict(data, verbose=0))


STATE = np.linspace(-1.0, 1.0, 4, dtype="float32").reshape(2, 2)  # a non-zero initial state


def _state(target, *shape):
    return target.to_native(np.zeros(shape, "float32"))


class CellWithoutCall:
    state_size = 2


class CellWithoutStateSize:
    def call(self, inputs, states):
        return inputs, states


def nested_output_cell(target):
    """A cell whose output is a list of two tensors (ERR-22)."""
    ops = target.ops

    class NestedOutputCell(target.ns.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.state_size = 2
            self.output_size = [2, 2]

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(int(input_shape[-1]), 2), initializer="uniform", name="kernel")
            self.built = True

        def call(self, inputs, states):
            h = ops.tanh(ops.dot(inputs, self.kernel) + states[0])
            return [h, h], [h]

    return NestedOutputCell()


@direct("ERR-01")
def _(t):
    t.ns.RNN(CellWithoutCall())


@direct("ERR-02")
def _(t):
    t.ns.RNN(CellWithoutStateSize())


def _stateful_result(t, scope):
    with scope:
        layer = t.ns.SimpleRNN(2, stateful=True)
    return _seeded(layer, lambda: layer(X))


def _err03_legal(t):
    return _stateful_result(t, contextlib.nullcontext())


@direct("ERR-03", names=["SimpleRNN"], legal=_err03_legal)
def _(t):
    import tensorflow as tf
    return _stateful_result(t, tf.distribute.MirroredStrategy(["/cpu:0"]).scope())


@direct("ERR-04", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(X, initial_state=[_state(t, 2, 2), _state(t, 2, 2)])


@direct("ERR-04", names=["LSTM"])
def _(t):
    t.ns.LSTM(2)(X, initial_state=[_state(t, 2, 2)])


@direct("ERR-04", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(X, initial_state=[])


@direct("ERR-05", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(X, initial_state=[_state(t, 2, 5)])


CONSTANT = np.linspace(0.5, -0.5, 4, dtype="float32").reshape(2, 2)


def _err06_legal(t):  # the constant as a model input too, fed the same values
    cell = custom_cells.make_cell(t, "constants", 2, "float32")
    inputs, state, constant = t.ns.Input((3, 4)), t.ns.Input((2,)), t.ns.Input((2,))
    return _model_result(t, [inputs, state, constant], t.ns.RNN(cell)(inputs, initial_state=state, constants=constant),
                         [X, STATE, CONSTANT])


@direct("ERR-06", names=["Layer", "Model"], legal=_err06_legal)
def _(t):
    cell = custom_cells.make_cell(t, "constants", 2, "float32")
    inputs, state = t.ns.Input((3, 4)), t.ns.Input((2,))
    outputs = t.ns.RNN(cell)(inputs, initial_state=state, constants=t.to_native(CONSTANT))
    return _model_result(t, [inputs, state], outputs, [X, STATE])


def _unrolled_on_unknown_length(t, make_layer, unroll):
    inputs = t.ns.Input((None, 4))
    return _model_result(t, inputs, make_layer(t, unroll)(inputs), X)


def _simple_rnn(t, unroll):
    return t.ns.SimpleRNN(2, unroll=unroll)


def _rnn_of_cell(t, unroll):
    return t.ns.RNN(t.ns.SimpleRNNCell(2), unroll=unroll)


@direct("ERR-07", names=["SimpleRNN", "Model"], legal=lambda t: _unrolled_on_unknown_length(t, _simple_rnn, False))
def _(t):
    return _unrolled_on_unknown_length(t, _simple_rnn, True)


@direct("ERR-07", names=["Model"], legal=lambda t: _unrolled_on_unknown_length(t, _rnn_of_cell, False))
def _(t):
    return _unrolled_on_unknown_length(t, _rnn_of_cell, True)


@direct("ERR-09", names=["SimpleRNN"])
def _(t):
    layer = t.ns.SimpleRNN(2)
    layer(X)
    layer(X, initial_state=[_state(t, 2, 2), _state(t, 2, 2)])


@direct("ERR-09")
def _(t):  # stacked LSTM cells given the flat [h1, c1, h2]
    layer = t.ns.RNN([t.ns.LSTMCell(2), t.ns.LSTMCell(3)])
    layer(X)
    layer(X, initial_state=[_state(t, 2, 2), _state(t, 2, 2), _state(t, 2, 3)])


def _ragged():
    import tensorflow as tf
    return tf.ragged.constant([[[1.0, 2, 3, 4], [1, 2, 3, 4]], [[1, 2, 3, 4]]], ragged_rank=1)


RAGGED_MASK = np.array([[1, 1], [1, 0]], bool)  # the ragged batch's own row lengths


def _dense_of_ragged():
    return _ragged().to_tensor().numpy()


def _err10_legal(t):
    layer = t.ns.SimpleRNN(2)
    return _seeded(layer, lambda: layer(_dense_of_ragged(), mask=RAGGED_MASK))


@direct("ERR-10", names=["SimpleRNN"], legal=_err10_legal)
def _(t):
    layer = t.ns.SimpleRNN(2)
    return _seeded(layer, lambda: layer(_ragged(), mask=RAGGED_MASK))


def _err11_legal(t):
    layer = t.ns.SimpleRNN(2)
    return _seeded(layer, lambda: layer(_ragged()))


@direct("ERR-11", names=["SimpleRNN"], legal=_err11_legal)
def _(t):
    layer = t.ns.SimpleRNN(2, unroll=True)
    return _seeded(layer, lambda: layer(_ragged()))


@direct("ERR-13", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2, stateful=True).reset_states()


@direct("ERR-16")
def _(t):
    t.ns.RNN([t.ns.SimpleRNNCell(2), CellWithoutCall()])


@direct("ERR-16", names=["StackedRNNCells"])
def _(t):
    t.ns.StackedRNNCells([CellWithoutCall()])


@direct("ERR-17")
def _(t):
    t.ns.RNN([t.ns.SimpleRNNCell(2), CellWithoutStateSize()])


@direct("ERR-17", names=["StackedRNNCells"])
def _(t):
    t.ns.StackedRNNCells([CellWithoutStateSize()])


@direct("ERR-18")
def _(t):
    t.ns.SimpleRNNCell(2).get_initial_state(None, None, None)


@direct("ERR-18", names=["StackedRNNCells"])
def _(t):
    t.ns.StackedRNNCells([t.ns.LSTMCell(2)]).get_initial_state()


@direct("ERR-18", names=["StackedRNNCells", "Layer"])
def _(t):  # a cell without get_initial_state, in a stack: dtype stays None
    t.ns.StackedRNNCells([custom_cells.make_cell(t, "minimal", 2, "float32")]).get_initial_state(batch_size=2)


def _nested_output_result(t, unroll):
    layer = t.ns.RNN(nested_output_cell(t), unroll=unroll)
    return _seeded(layer, lambda: layer(X, mask=MASK))


@direct("ERR-22", names=["Layer"], legal=lambda t: _nested_output_result(t, False))
def _(t):
    return _nested_output_result(t, True)


def _lstm(t, unroll):
    return t.ns.LSTM(2, unroll=unroll)


@direct("ERR-23", names=["LSTM", "Model"], legal=lambda t: _unrolled_on_unknown_length(t, _lstm, False))
def _(t):
    return _unrolled_on_unknown_length(t, _lstm, True)


@direct("ERR-24")
def _(t):
    class CellDefiningNothing(t.ns.AbstractRNNCell):
        pass

    t.ns.RNN(CellDefiningNothing())(X)


@direct("ERR-24")
def _(t):  # the cell's `call` is the abstract one
    class CellWithoutCall(t.ns.AbstractRNNCell):
        state_size = output_size = 2

    t.ns.RNN(CellWithoutCall())(X)


@direct("ERR-24")
def _(t):  # a stacked cell without `output_size`: the next cell's input width is asked of it
    class CellWithoutOutputSize(t.ns.AbstractRNNCell):
        state_size = 4

        def call(self, inputs, states):
            return states[0], states

    t.ns.RNN([CellWithoutOutputSize(), t.ns.SimpleRNNCell(2)])(X)


def _with_initial_state(t, state):
    layer = t.ns.SimpleRNN(2)
    return _seeded(layer, lambda: layer(X, initial_state=state))


@direct("ERR-25", names=["SimpleRNN"], legal=lambda t: _with_initial_state(t, t.to_native(STATE)))
def _(t):
    return _with_initial_state(t, STATE)  # a NumPy array, not the framework's tensor


@direct("ERR-26", names=["SimpleRNN"], legal=lambda t: _with_initial_state(t, t.to_native(STATE)))
def _(t):
    layer = t.ns.SimpleRNN(2)
    return _seeded(layer, lambda: layer([X, t.to_native(STATE)], initial_state=t.to_native(STATE)))


@direct("ERR-29")
def _(t):
    layer = t.ns.RNN(t.ns.SimpleRNNCell(2))
    layer(X)
    layer(np.ones((2, 3, 5), "float32"))


@direct("ERR-31", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)((X, _state(t, 2, 2)))


@direct("ERR-32")
def _(t):
    t.ns.RNN(t.ns.SimpleRNNCell(2))((X, _state(t, 2, 2)))


@direct("ERR-34", stage="predict", names=["LSTM", "Model"])
def _(t):
    model_class = t.get("Model")
    inputs, constants = t.ns.Input((3, 4)), t.ns.Input((2,))
    model = model_class([inputs, constants], t.ns.LSTM(2)(inputs, constants=constants))  # builds fine
    model.predict([X, np.zeros((2, 2), "float32")], verbose=0)


@direct("ERR-38", names=["SimpleRNN"])
def _(t):
    layer = t.ns.SimpleRNN(2)
    layer(X)
    layer(X, initial_state=[_state(t, 2, 5)])


@direct("ERR-38", names=["LSTM"])
def _(t):
    layer = t.ns.LSTM(2)
    layer(X)
    layer(X, initial_state=[_state(t, 2, 5), _state(t, 2, 2)])


@direct("ERR-39", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(X, initial_state=[_state(t, 3, 2)])


@direct("ERR-39", names=["GRU"])
def _(t):
    t.ns.GRU(2)(X, initial_state=[_state(t, 3, 2)])


@direct("ERR-43", names=["SimpleRNN"], args=["time_major"])
def _(t):  # a (batch, time) mask where time_major wants (time, batch), batch != time
    with constructing():  # the namespace is reached in the trigger itself (a target may run it remotely)
        layer = t.ns.SimpleRNN(2, time_major=True)
    layer(np.ones((3, 2, 4), "float32"), mask=np.ones((2, 3), bool))


def _masks_result(t, name, masks):
    layer = getattr(t.ns, name)(2)
    return _seeded(layer, lambda: layer(X, mask=masks))


@direct("ERR-44", names=["GRU"], legal=lambda t: _masks_result(t, "GRU", [MASK, MASK]))
def _(t):
    return _masks_result(t, "GRU", (MASK, MASK))


@direct("ERR-44", names=["LSTM"], legal=lambda t: _masks_result(t, "LSTM", [MASK, MASK]))
def _(t):
    return _masks_result(t, "LSTM", (MASK, MASK))


@contextlib.contextmanager
def constructing():
    """A trigger's construction of its layer. An error there is marked as a construction error
    (execute.STAGE_MARK; a target in its own environment sends the mark back with the error), so a
    constructor argument the implementation refuses by name (`args` of @direct) is a feature it
    lacks, not a wrong error of the trigger's path."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - re-raised, marked
        setattr(e, execute.STAGE_MARK, "construct")
        raise


def error_of(trigger, target, stage):
    return run_trigger(trigger, target, stage)[0]


def run_trigger(trigger, target, stage):
    """(error record or None, what the trigger returned)."""
    try:
        return None, trigger(target)
    except Exception as e:  # noqa: BLE001 - the error is what the test looks at
        return execute.describe_error(e, stage), None


def _direct_params():
    seen = {}
    for err_id, trigger, stage, uses in DIRECT:
        seen[err_id] = seen.get(err_id, 0) + 1
        yield pytest.param(err_id, trigger, stage, uses, id=f"{err_id}-direct-{seen[err_id]}",
                           marks=pytest.mark.clauses(err_id))


@pytest.mark.every_example  # each trigger takes milliseconds and reaches a `raise` of the oracle of its own
@pytest.mark.parametrize("err_id, trigger, stage, uses", list(_direct_params()))
def test_error_direct(impl_target, oracle_target, err_id, trigger, stage, uses):
    oracle_error = error_of(trigger, oracle_target, stage)
    check_oracle(err_id, oracle_target, oracle_error)
    skip_if_unsupported(err_id, impl_target, uses["names"])
    impl_error, accepted = run_trigger(trigger, impl_target, stage)
    if err_id in error_catalog.LIMITATIONS:
        judge_limitation(err_id, impl_target, oracle_target, impl_error, accepted, uses["legal"])
        return
    if impl_error:  # NotImplementedError, or a constructor argument it rejects by name (interfaces.md section 1)
        missing = capabilities.missing_feature(impl_target.has, {"flags": dict.fromkeys(uses["args"], True)}, impl_error)
        refused = impl_error["type"] == "NotImplementedError" != oracle_error["type"]
        if missing and (missing in uses["args"] or refused):
            pytest.skip(f"unsupported: {impl_target.name} lacks {missing} ({err_id})")
    replay = (f"Reproduce with: pytest conformance/test_errors.py -k {err_id} --impl {impl_target.name} "
              f"(the trigger is the @direct({err_id!r}) function there)")
    check_impl(err_id, impl_target, oracle_error, impl_error, replay)


# The call arguments the direct triggers pass, as a case names them (capabilities.missing_feature).
TRIGGER_CALL_ARGS = {"constants": [[2]], "initial_state": True, "mask": [[1]], "training": True}


def judge_limitation(err_id, impl, oracle, impl_error, accepted, legal):
    """An oracle-limitation path (error_catalog.LIMITATIONS): refusing it passes, whatever the class;
    accepting it is `lenient` where the results are the oracle's for the legal equivalent, a failure
    where they differ, and inconclusive where they cannot be compared."""
    reason = error_catalog.LIMITATIONS[err_id]["reason"]
    if impl_error is not None:
        # A call argument refused by name (Keras 3: `constants`) is a feature it lacks, not a refusal of this path.
        missing = capabilities.missing_feature(impl.has, TRIGGER_CALL_ARGS, impl_error)
        if missing:
            pytest.skip(f"unsupported: {impl.name} lacks {missing} ({err_id})")
        return  # refused, as the oracle refuses it: the contract asks for no particular error here
    if legal is None or getattr(impl, "remote", False) or accepted is None:
        pytest.skip(f"inconclusive: {impl.name} accepts {err_id} (an oracle limitation: {reason}); what it "
                    "computes is not compared here")
    expected = legal(oracle)
    plain = {"timesteps": int(X.shape[1]), "cells": [{"kind": "simple", "units": 2}]}
    mismatches = [m for m in compare.compare({"steps": [{"result": expected}]}, {"steps": [{"result": accepted}]},
                                             normalize(plain)) if m.kind != "inconclusive"]
    assert not mismatches, (
        f"{impl.name} accepts {err_id}, which the oracle refuses for its own reasons ({reason}), but computes "
        f"something else than the oracle does for the legal equivalent: "
        + "; ".join(f"{m.kind} {m.path}: {m.detail}" for m in mismatches[:4]))
    ch.record_verdict("lenient", f"{impl.name} accepts {err_id} ({reason}) and computes what the oracle computes "
                                 "for the legal equivalent")


def test_every_error_path_has_a_trigger():
    covered = set(ERROR_CASES) | {err_id for err_id, *_ in DIRECT} | {err_id for err_id, _ in ERROR_CASE_VARIANTS}
    assert covered == set(CATALOG) == {f"ERR-{i:02d}" for i in range(1, 48)}


# ---- the catalog's own rules ------------------------------------------------------------------------
def test_facts_are_compared_on_content_not_wording():
    oracle = {"type": "ValueError", "message": "Layer has 1 states but was passed 2 initial states. Received: ..."}
    reworded = {"type": "ValueError", "message": "expected 1 states, got 2 initial states"}
    wrong = {"type": "ValueError", "message": "Layer has 2 states but was passed 3 initial states."}
    assert error_catalog.facts_match(oracle, reworded, "ERR-09")[0]
    assert not error_catalog.facts_match(oracle, wrong, "ERR-09")[0]
    shape = {"type": "ValueError", "message": "Shape (4, 2) must have rank at least 3"}
    assert error_catalog.facts_match(shape, {"type": "ValueError", "message": "rank < 3 for shape [4,2]"},
                                     "ERR-28")[0]
    assert not error_catalog.facts_match(shape, {"type": "ValueError", "message": "Shape (2, 4) must have "
                                                 "rank at least 3"}, "ERR-28")[0]


def test_shared_messages_are_told_apart():
    units = {"type": "ValueError", "message": "Received an invalid value for argument `units`, expected a "
                                              "positive integer, got 0."}
    assert error_catalog.classify(units, ERROR_CASES["ERR-20"]) == "ERR-20"
    assert error_catalog.classify(units, {"cells": [{"kind": "lstm", "units": 0}]}) == "ERR-21"
    spec = ("An `initial_state` was passed that is not compatible with `cell.state_size`. Received "
            "`state_spec`=[InputSpec(shape=(2, {w}), ndim=2)]; however `cell.state_size` is [2{more}]")
    assert error_catalog.classify({"type": "ValueError", "message": spec.format(w=5, more="")}) == "ERR-05"
    assert error_catalog.classify({"type": "ValueError", "message": spec.format(w=2, more=", 2")}) == "ERR-04"
    shapes = 'Input 0 of layer "rnn" is incompatible with the layer: expected shape={}, found shape={}'
    assert error_catalog.classify({"type": "ValueError", "message": shapes.format("(2, None, 4)", "(3, 3, 4)")}) \
        == "ERR-30"
    assert error_catalog.classify({"type": "ValueError", "message": shapes.format("(None, None, 4)", "(2, 3, 5)")}) \
        == "ERR-29"
    assert error_catalog.classify({"type": "ValueError", "message": "something else"}) is None
