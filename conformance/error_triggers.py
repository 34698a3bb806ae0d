"""The error paths' triggers that need direct calls on a namespace (error-paths.md): each is a function
of the target, registered in DIRECT with its path, the stage it fails in and the names it uses.

A plain module, without pytest: a target in another interpreter runs a trigger whole in its own worker
(`target.call(trigger)`), which imports this module there.
"""
import numpy as np

from rnnconf.engine import custom_cells

X = np.ones((2, 3, 4), "float32")                  # batch 2, 3 timesteps, 4 features
MASK = np.array([[1, 1, 0], [1, 0, 0]], bool)


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
