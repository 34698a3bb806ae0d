"""The reference's back-propagation through time (impl/gradients.py) against central finite
differences in float64, for every built-in cell and every flag that changes the gradient's path."""
import numpy as np
import pytest

import rnnconf.impl as impl
from rnnconf.impl.gradients import layer_gradients
from rnnconf.impl.nest import flatten

H = 1e-6


def _cell(kind, units, **options):
    if kind == "simple":
        return impl.SimpleRNNCell(units, dtype="float64", **options)
    if kind == "gru":
        return impl.GRUCell(units, dtype="float64", **options)
    if kind == "gru_before":
        return impl.GRUCell(units, reset_after=False, dtype="float64", **options)
    return impl.LSTMCell(units, dtype="float64", **options)


def _problem(kinds, flags, mask=False, initial_state=False, seed=0, batch=2, steps=4, features=3, units=3,
             options=None):
    """A float64 layer with random weights, its inputs, call kwargs and cotangents."""
    rng = np.random.default_rng(seed)
    cells = [_cell(k, units, **(options or {})) for k in kinds]
    # A stack in float64 throughout: tf_keras' StackedRNNCells would round its input through float32.
    cell = impl.StackedRNNCells(cells, dtype="float64") if len(cells) > 1 else cells[0]
    layer = impl.RNN(cell, dtype="float64", **flags)
    shape = (steps, batch, features) if flags.get("time_major") else (batch, steps, features)
    x = rng.normal(size=shape)
    kwargs = {}
    if mask:
        m = rng.random((batch, steps)) < 0.6
        m[0, 0] = False  # a masked first step, and a row whose later steps are masked
        m[1, -1] = False
        kwargs["mask"] = m.T.copy() if flags.get("time_major") else m
    if initial_state:
        per_cell = [[rng.normal(0, 0.5, (batch, units)) for _ in range(2 if k == "lstm" else 1)] for k in kinds]
        # In a stack: one entry per cell, a bare array for a cell of one state (as the cell returns it).
        kwargs["initial_state"] = [e if len(e) > 1 else e[0] for e in per_cell] if len(kinds) > 1 else per_cell[0]
    layer(x, **kwargs)
    layer.set_weights([rng.normal(0, 1 / np.sqrt(w.shape[0]), w.shape) if w.ndim == 2 else rng.normal(0, 0.5, w.shape)
                       for w in layer.weights])
    cot_rng = np.random.default_rng(seed + 1)
    cotangents = lambda flat: [cot_rng.normal(size=y.shape) for y in flat]  # noqa: E731
    return layer, x, kwargs, cotangents


def _loss(layer, x, kwargs, c):
    flat = flatten(layer(x, **kwargs))
    assert len(flat) == len(c)
    return sum(float(np.sum(ci * np.asarray(yi))) for ci, yi in zip(c, flat))


def _numeric(layer, x, kwargs, c, array):
    """Central differences of the loss for every element of `array`, changed in place."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        keep = array[idx]
        array[idx] = keep + H
        up = _loss(layer, x, kwargs, c)
        array[idx] = keep - H
        down = _loss(layer, x, kwargs, c)
        array[idx] = keep
        grad[idx] = (up - down) / (2 * H)
    return grad


def _check(layer, x, kwargs, cotangents):
    result, grads = layer_gradients(layer, x, cotangents, **kwargs)
    c = cotangents([np.asarray(y) for y in flatten(result)])
    _, grads = layer_gradients(layer, x, lambda _: c, **kwargs)
    expected = {"inputs": _numeric(layer, x, kwargs, c, x)}
    for i, s in enumerate(flatten(kwargs.get("initial_state") or [])):
        expected[f"initial_state[{i}]"] = _numeric(layer, x, kwargs, c, s)
    for i, w in enumerate(layer.weights):
        expected[f"weights[{i}]"] = _numeric(layer, x, kwargs, c, w)
    got = {"inputs": grads["inputs"]}
    got.update({f"initial_state[{i}]": g for i, g in enumerate(grads["initial_state"] or [])})
    got.update({f"weights[{i}]": g for i, g in enumerate(grads["weights"])})
    assert set(got) == set(expected)
    for name in expected:
        assert got[name].shape == expected[name].shape, name
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)
    return grads


CELLS = ["simple", "gru", "gru_before", "lstm"]


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("flags", [{}, {"return_sequences": True, "return_state": True},
                                   {"go_backwards": True, "return_sequences": True},
                                   {"time_major": True, "return_sequences": True}, {"unroll": True}],
                         ids=["plain", "seq-state", "backwards", "time_major", "unroll"])
def test_cells_and_flags_match_finite_differences(kind, flags):
    _check(*_problem([kind], flags, initial_state=True))


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("flags", [{}, {"return_sequences": True, "return_state": True},
                                   {"zero_output_for_mask": True, "return_sequences": True},
                                   {"go_backwards": True, "return_sequences": True, "return_state": True},
                                   {"unroll": True, "return_sequences": True, "return_state": True},
                                   {"unroll": True, "zero_output_for_mask": True, "return_sequences": True,
                                    "go_backwards": True}],
                         ids=["plain", "seq-state", "zero_output", "backwards", "unroll", "unroll-zero-backwards"])
def test_masks_match_finite_differences(kind, flags):
    _check(*_problem([kind], flags, mask=True, initial_state=True, seed=3))


def test_masked_steps_pass_the_state_gradient_and_give_the_input_none():
    layer, x, kwargs, cot = _problem(["gru"], {"return_state": True}, mask=True, initial_state=True, seed=5)
    kwargs["mask"][:] = True
    kwargs["mask"][0, 1:] = False  # row 0 reads only its first step
    grads = _check(layer, x, kwargs, cot)
    assert np.all(grads["inputs"][0, 1:] == 0)
    assert np.any(grads["inputs"][0, 0] != 0)


@pytest.mark.parametrize("kinds", [["simple", "lstm"], ["lstm", "gru", "gru_before"]])
def test_stacks_match_finite_differences(kinds):
    _check(*_problem(kinds, {"return_sequences": True, "return_state": True}, mask=True, initial_state=True,
                     seed=7))


@pytest.mark.parametrize("options", [{"activation": "relu", "recurrent_activation": "hard_sigmoid"},
                                     {"use_bias": False, "implementation": 1},
                                     {"activation": "softsign", "recurrent_activation": "swish"}],
                         ids=["relu-hard_sigmoid", "no-bias-impl1", "softsign-swish"])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_options_match_finite_differences(kind, options):
    if kind == "simple":
        options = {k: v for k, v in options.items() if k not in ("recurrent_activation", "implementation")}
    _check(*_problem([kind], {"return_sequences": True}, options=options, seed=11))


@pytest.mark.parametrize("kind", CELLS)
def test_fixed_dropout_masks_are_differentiated_through(kind):
    """training=True with dropout: the gradient of the forward pass with the masks it drew (every
    call draws the same masks here: the cell's generator is reseeded as each call starts)."""
    options = {"dropout": 0.3} if kind == "lstm" else {"dropout": 0.3, "recurrent_dropout": 0.3}
    layer, x, kwargs, cot = _problem([kind], {"return_sequences": True}, options=options, seed=13)
    reset = layer._reset_dropout_masks

    def reset_and_reseed():
        layer.cell._dropout_rng = np.random.default_rng(5)
        reset()
    layer._reset_dropout_masks = reset_and_reseed
    grads = _check(layer, x, dict(kwargs, training=True), cot)
    _, without = layer_gradients(layer, x, lambda flat: [np.ones_like(y) for y in flat])
    _, dropped = layer_gradients(layer, x, lambda flat: [np.ones_like(y) for y in flat], training=True)
    assert not np.allclose(without["weights"][0], dropped["weights"][0])
    assert grads["inputs"].shape == x.shape


def test_float64_input_through_a_float32_stack_gets_a_float32_rounded_gradient():
    cells = [impl.SimpleRNNCell(3, dtype="float64"), impl.SimpleRNNCell(3, dtype="float64")]
    layer = impl.RNN(cells, dtype="float64")  # the stack itself keeps the default float32
    x = np.random.default_rng(0).normal(size=(2, 3, 3))
    _, grads = layer_gradients(layer, x, lambda flat: [np.ones_like(y) for y in flat])
    assert grads["inputs"].dtype == np.float64
    assert np.array_equal(grads["inputs"], grads["inputs"].astype(np.float32))


def test_stateful_kept_states_get_no_gradient():
    layer = impl.RNN(impl.LSTMCell(3, dtype="float64"), stateful=True, return_state=True, dtype="float64",
                     batch_input_shape=(2, 4, 3))
    rng = np.random.default_rng(17)
    x = rng.normal(size=(2, 4, 3))
    layer(x)
    init = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3))]
    cot = lambda flat: [np.ones_like(y) for y in flat]  # noqa: E731
    _, first = layer_gradients(layer, x, cot)
    assert first["initial_state"] is None
    _, second = layer_gradients(layer, x, cot, initial_state=init)  # the kept states are nonzero now
    assert all(np.all(g == 0) for g in second["initial_state"])


def test_float32_layers_give_float32_gradients():
    layer = impl.RNN(impl.GRUCell(3), return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    _, grads = layer_gradients(layer, x, lambda flat: [np.ones_like(y) for y in flat])
    assert grads["inputs"].dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads["weights"])


def test_custom_cells_are_unsupported():
    class Cell(impl.Layer):
        state_size = 2

        def build(self, shape):
            self.built = True

        def call(self, inputs, states):
            return states[0], [states[0]]
    layer = impl.RNN(Cell())
    with pytest.raises(NotImplementedError, match="custom cell"):
        layer_gradients(layer, np.ones((1, 2, 2), "float32"), lambda flat: [np.ones_like(y) for y in flat])


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_builtin_layers_match_finite_differences(name, dropout):
    """The layers, GRU and LSTM on tf_keras' fused path included (which drops the whole input
    sequence with masks of its own per timestep before the loop: layers._gated_call)."""
    rng = np.random.default_rng(19)
    layer = getattr(impl, name)(3, return_sequences=True, return_state=True, dropout=dropout, dtype="float64")
    x = rng.normal(size=(2, 4, 3))
    layer(x)
    layer.set_weights([rng.normal(0, 0.6, w.shape) for w in layer.weights])
    reset = layer._reset_dropout_masks

    def reset_and_reseed():
        layer.cell._dropout_rng = np.random.default_rng(5)
        reset()
    layer._reset_dropout_masks = reset_and_reseed
    cot = lambda flat: [np.random.default_rng(23).normal(size=y.shape) for y in flat]  # noqa: E731
    _check(layer, x, {"training": True, "mask": rng.random((2, 4)) < 0.7}, cot)


def test_stateful_calls_match_finite_differences():
    """A later call of a stateful layer starts from the kept states, which are constants for it."""
    rng = np.random.default_rng(29)
    layer = impl.RNN(impl.LSTMCell(3, dtype="float64"), stateful=True, return_sequences=True, dtype="float64",
                     batch_input_shape=(2, 4, 3))
    x = rng.normal(size=(2, 4, 3))
    layer(x)
    kept = [np.array(s) for s in layer.states]
    cot = lambda flat: [np.random.default_rng(31).normal(size=y.shape) for y in flat]  # noqa: E731
    c = cot([np.zeros((2, 4, 3))])

    def loss():
        for state, value in zip(layer.states, kept):
            state[...] = value
        return float(np.sum(c[0] * layer(x)))
    expected = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        keep = x[idx]
        x[idx] = keep + H
        up = loss()
        x[idx] = keep - H
        down = loss()
        x[idx] = keep
        expected[idx] = (up - down) / (2 * H)
    for state, value in zip(layer.states, kept):
        state[...] = value
    _, grads = layer_gradients(layer, x, lambda _: c)
    np.testing.assert_allclose(grads["inputs"], expected, rtol=1e-6, atol=1e-7)
