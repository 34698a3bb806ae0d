import os
os.environ['KERAS_BACKEND'] = 'jax'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, False]])
x0 = np.array([[[0.72, 0.2, -0.52], [-0.39, 0.41, -1.0], [-1.29, -1.22, -0.2]]], 'float32')
h0 = [np.array([[-1.9, 0.08]], 'float32')]
layer = layers.RNN(layers.SimpleRNNCell(2))
out = []
layer(x0, mask=mask, initial_state=h0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0, mask=mask, initial_state=h0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[1, 2]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.0, 0.0]]]
for got, want, bound in zip(leaves(out), expected, [1.53e-05]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
