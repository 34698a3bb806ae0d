"""ERR-01..ERR-47: the oracle's error paths (error-paths.md), one test per path.

Every test runs the path's trigger on the oracle and on the implementation and checks that
  - the oracle raises the documented class with a message error_catalog recognises as this path
    (this pins the oracle: a tf_keras release that changes a path fails here, not in the fuzzer);
  - the implementation raises the same class (compare.same_error_class) and its message states the
    same facts (error_catalog.facts_match: facts, not wording; see that module's docstring).
Triggers that fit a case are error_catalog.ERROR_CASES (the fuzzer samples them too); the others are
the direct calls below. A path that needs a TensorFlow feature the implementation lacks
(error_catalog.FEATURES) is still run on the oracle, then skipped as "unsupported: ...".
"""
import numpy as np
import pytest

from rnnconf.engine import capabilities, compare, custom_cells, error_catalog, execute
from rnnconf.conformance import helpers as ch
from rnnconf.engine.error_catalog import CATALOG, ERROR_CASE_VARIANTS, ERROR_CASES

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
    assert compare.same_error_class(oracle_error, impl_error), (
        f"{err_id}: {impl.name} raises {_describe(impl_error)}; the oracle raises {_describe(oracle_error)}"
        f"\n\n{replay}")
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
    replay = "Reproduce with:\n" + ch.snippet(case, impl_target.name, oracle_target.name)
    assert verdict["status"] == "pass", (
        "\n".join(f"{m.kind} at step {m.step}: {m.detail}" for m in verdict["mismatches"]) or verdict["detail"]
    ) + "\n\n" + replay
    check_impl(err_id, impl_target, ch.first_error(expected), ch.first_error(actual), replay)


# ---- triggers that need direct calls ----------------------------------------------------------------
DIRECT = []   # (err_id, trigger(target), stage, optional namespace names and constructor arguments it uses)


def direct(err_id, stage="call", names=(), args=()):
    def register(trigger):
        DIRECT.append((err_id, trigger, stage, {"names": tuple(names), "args": tuple(args)}))
        return trigger
    return register


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


@direct("ERR-03", names=["SimpleRNN"])
def _(t):
    import tensorflow as tf
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        t.ns.SimpleRNN(2, stateful=True)


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


@direct("ERR-06", names=["Layer"])
def _(t):
    cell = custom_cells.make_cell(t, "constants", 2, "float32")
    t.ns.RNN(cell)(t.ns.Input((3, 4)), initial_state=t.ns.Input((2,)), constants=_state(t, 2, 2))


@direct("ERR-07", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2, unroll=True)(t.ns.Input((None, 4)))


@direct("ERR-07")
def _(t):
    t.ns.RNN(t.ns.SimpleRNNCell(2), unroll=True)(t.ns.Input((None, 4)))


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


@direct("ERR-10", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(_ragged(), mask=np.array([[1, 1], [1, 0]], bool))


@direct("ERR-11", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2, unroll=True)(_ragged())


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


@direct("ERR-22", names=["Layer"])
def _(t):
    t.ns.RNN(nested_output_cell(t), unroll=True)(X, mask=MASK)


@direct("ERR-23", names=["LSTM"])
def _(t):
    t.ns.LSTM(2, unroll=True)(t.ns.Input((None, 4)))


@direct("ERR-24")
def _(t):
    class CellDefiningNothing(t.ns.AbstractRNNCell):
        pass

    t.ns.RNN(CellDefiningNothing())(X)


@direct("ERR-25", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)(X, initial_state=np.zeros((2, 2), "float32"))


@direct("ERR-26", names=["SimpleRNN"])
def _(t):
    t.ns.SimpleRNN(2)([X, _state(t, 2, 2)], initial_state=_state(t, 2, 2))


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
    t.ns.SimpleRNN(2, time_major=True)(np.ones((3, 2, 4), "float32"), mask=np.ones((2, 3), bool))


@direct("ERR-44", names=["GRU"])
def _(t):
    t.ns.GRU(2)(X, mask=(MASK, MASK))


@direct("ERR-44", names=["LSTM"])
def _(t):
    t.ns.LSTM(2)(X, mask=(MASK, MASK))


def error_of(trigger, target, stage):
    try:
        trigger(target)
    except Exception as e:  # noqa: BLE001 - the error is what the test looks at
        return execute.describe_error(e, stage)
    return None


def _direct_params():
    seen = {}
    for err_id, trigger, stage, uses in DIRECT:
        seen[err_id] = seen.get(err_id, 0) + 1
        yield pytest.param(err_id, trigger, stage, uses, id=f"{err_id}-direct-{seen[err_id]}",
                           marks=pytest.mark.clauses(err_id))


@pytest.mark.parametrize("err_id, trigger, stage, uses", list(_direct_params()))
def test_error_direct(impl_target, oracle_target, err_id, trigger, stage, uses):
    oracle_error = error_of(trigger, oracle_target, stage)
    check_oracle(err_id, oracle_target, oracle_error)
    skip_if_unsupported(err_id, impl_target, uses["names"])
    impl_error = error_of(trigger, impl_target, stage)
    if impl_error:  # NotImplementedError, or a constructor argument it rejects by name (interfaces.md section 1)
        missing = capabilities.missing_feature(impl_target.has, {"flags": dict.fromkeys(uses["args"], True)}, impl_error)
        refused = impl_error["type"] == "NotImplementedError" != oracle_error["type"]
        if missing and (missing in uses["args"] or refused):
            pytest.skip(f"unsupported: {impl_target.name} lacks {missing} ({err_id})")
    replay = (f"Reproduce with: pytest conformance/test_errors.py -k {err_id} --impl {impl_target.name} "
              f"(the trigger is the @direct({err_id!r}) function there)")
    check_impl(err_id, impl_target, oracle_error, impl_error, replay)


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
