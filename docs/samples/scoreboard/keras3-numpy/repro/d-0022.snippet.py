import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, False, False, False, False], [False, False, False, True, True, True]])
x0 = np.array([[[1.15, 1.8], [0.27, -1.0], [1.1, -0.76], [1.06, -0.61], [2.24, -2.29], [-0.71, 0.06]], [[0.55, 0.08], [0.39, 0.23], [1.81, -0.36], [-0.4, 2.17], [1.58, -0.12], [1.18, -0.74]]], 'float32')
h0 = [np.array([[0.11, -0.3, 0.12, -0.46, -0.47], [0.36, -0.18, 0.06, 0.29, -0.04]], 'float32')]
layer = layers.RNN(layers.GRUCell(5))
out = []
layer(x0, mask=mask, initial_state=h0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0, mask=mask, initial_state=h0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[2, 5]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.0, 0.0, 0.0, 0.0, 0.0], [-0.362367958, -0.271098524, -0.155915514, -0.0298441313, 0.0771626681]]]
for got, want, bound in zip(leaves(out), expected, [3.64e-05]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
