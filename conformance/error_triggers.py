"""The error paths' triggers that need direct calls on a namespace (error-paths.md): each is a function
of the target, registered in DIRECT with its path, the stage it fails in, the names it uses and, on an
oracle-limitation path, its legal equivalent.

A plain module, without pytest: a target in another interpreter runs a trigger whole in its own worker
(`target.call(trigger)`), which imports this module there.
"""
import contextlib

import numpy as np

from rnnconf.engine import custom_cells, execute

X = np.ones((2, 3, 4), "float32")                  # batch 2, 3 timesteps, 4 features
MASK = np.array([[1, 1, 0], [1, 0, 0]], bool)


DIRECT = []   # (err_id, trigger(target), stage, optional namespace names and constructor arguments it uses)


def direct(err_id, stage="call", names=(), args=(), legal=None, api=()):
    """Register a trigger. On an oracle-limitation path (error_catalog.LIMITATIONS) the trigger returns
    its results, computed with seeded weights, where the implementation accepts the input, and
    `legal(target)` computes the same with the equivalent input the oracle accepts: an implementation
    that accepts is judged on that meaning (lenient where it matches). A failure's features (what a
    known difference names: engine/known_differences.py) are the trigger's API: `api:NAME` for the
    namespace names it needs and the calls in `api` (e.g. "SimpleRNNCell.get_initial_state"), and
    `flag:ARG` for the constructor arguments it passes, as a case's features name them."""
    features = sorted({f"api:{name}" for name in (*names, *api)} | {f"flag:{arg}" for arg in args})
    def register(trigger):
        DIRECT.append((err_id, trigger, stage, {"names": tuple(names), "args": tuple(args), "legal": legal,
                                                "features": tuple(features)}))
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


@direct("ERR-09", names=["RNN", "LSTMCell"])
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


@direct("ERR-13", names=["SimpleRNN"], args=["stateful"], api=["SimpleRNN.reset_states"])
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


@direct("ERR-18", api=["SimpleRNNCell.get_initial_state"])
def _(t):
    t.ns.SimpleRNNCell(2).get_initial_state(None, None, None)


@direct("ERR-18", names=["StackedRNNCells"], api=["StackedRNNCells.get_initial_state"])
def _(t):
    t.ns.StackedRNNCells([t.ns.LSTMCell(2)]).get_initial_state()


@direct("ERR-18", names=["StackedRNNCells", "Layer"], api=["StackedRNNCells.get_initial_state"])
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


@direct("ERR-32", api=["RNN", "SimpleRNNCell"])
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
    with constructing():
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
