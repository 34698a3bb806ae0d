"""Properties of the reference implementation itself (impl/)."""
import subprocess
import sys

import numpy as np
import pytest

import rnnconf.impl as impl


def test_reference_never_imports_tensorflow():
    code = "import sys, rnnconf.impl as impl; bad = [m for m in ('tensorflow', 'tf_keras', 'keras') if m in sys.modules]; " \
           "sys.exit(f'impl imported {bad}' if bad else 0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_namespace_exposes_the_interface():
    for name in ("RNN", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "SimpleRNN", "GRU", "LSTM",
                 "Embedding", "Layer"):
        assert callable(getattr(impl, name)), name


def test_weights_in_keras_order_and_shapes():
    layer = impl.RNN([impl.GRUCell(3, reset_after=True), impl.LSTMCell(2)])
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.shape for w in layer.get_weights()] == [(5, 9), (3, 9), (2, 9), (3, 8), (2, 8), (8,)]


def test_lstm_unit_forget_bias_initializes_forget_gate_to_one():
    cell = impl.LSTMCell(3)
    impl.RNN(cell)(np.zeros((1, 2, 4), "float32"))
    np.testing.assert_array_equal(cell.bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_dtype_governs_results(dtype):
    out = impl.LSTM(2, dtype=dtype, return_state=True)(np.ones((2, 3, 4), "float32"))
    assert {np.asarray(o).dtype.name for o in out} == {dtype}


def test_default_initializers_have_keras_distributions():
    impl.initializers.seed(0)
    cell = impl.SimpleRNNCell(64)
    impl.RNN(cell)(np.zeros((1, 1, 32), "float32"))
    limit = np.sqrt(6 / (32 + 64))  # glorot_uniform
    assert np.abs(cell.kernel).max() <= limit and np.abs(cell.kernel).max() > 0.9 * limit
    np.testing.assert_allclose(cell.recurrent_kernel @ cell.recurrent_kernel.T, np.eye(64), atol=1e-5)  # orthogonal


def test_reset_states_casts_arrays_of_another_dtype_like_the_oracle():
    """DEV-reset-states-dtype: the page promises a ValueError; the oracle casts, and so does the reference."""
    layer = impl.SimpleRNN(2, stateful=True)
    layer(np.ones((2, 3, 4), "float32"))
    layer.reset_states([np.ones((2, 2), dtype="int32")])
    assert layer.states[0].dtype == np.float32 and np.all(layer.states[0] == 1)


def test_returned_states_do_not_alias_the_layer_storage():
    layer = impl.SimpleRNN(2, stateful=True, return_state=True)
    _, state = layer(np.ones((2, 3, 4), "float32"))
    before = state.copy()
    layer(np.ones((2, 3, 4), "float32"))
    np.testing.assert_array_equal(state, before)


def test_upstream_mask_flows_from_embedding():
    emb = impl.Embedding(5, 3, mask_zero=True)
    tokens = np.array([[1, 2, 0, 0]])
    x = emb(tokens)
    assert x._keras_mask.tolist() == [[True, True, False, False]]
    out = impl.SimpleRNN(2, return_sequences=True)(x)
    np.testing.assert_array_equal(out[0, 2], out[0, 1])


def test_tensor_shape_rejects_non_integer_dimensions_like_tensorflow():
    """A custom cell may declare state_size TensorShape([2, 2.5]): refused as TensorFlow refuses it."""
    assert impl.TensorShape([2, 3]).as_list() == [2, 3]
    with pytest.raises(TypeError, match="Dimension value must be integer"):
        impl.TensorShape([2, 2.5])
