import os
os.environ['KERAS_BACKEND'] = 'jax'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[True, True, True], [False, False, False], [False, False, False], [False, False, False]])
x0 = np.array([[[1.14, -1.68, 1.94], [-0.18, 1.29, 2.12], [-0.12, -1.34, 0.93]], [[0.25, 0.19, 0.6], [1.9, -0.57, 0.11], [-1.07, -1.57, 1.06]], [[0.08, 1.98, 0.14], [0.43, -0.49, 0.1], [0.64, 0.14, -0.41]], [[0.42, 2.12, 0.44], [0.66, 1.23, 0.72], [1.43, 0.73, -0.24]]], 'float32')
h0 = [np.array([[-0.54, -0.15], [0.46, -0.46], [0.25, -0.77], [0.62, -0.06]], 'float32')]
layer = layers.RNN(layers.GRUCell(2))
out = []
layer(x0, mask=mask, initial_state=h0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0, mask=mask, initial_state=h0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[4, 2]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.533730984, 0.630682826], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
for got, want, bound in zip(leaves(out), expected, [2.49e-05]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
