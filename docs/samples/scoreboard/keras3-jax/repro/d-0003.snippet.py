import os
os.environ['KERAS_BACKEND'] = 'jax'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, False, False, False, False], [False, False, False, False, False, False], [True, True, True, True, True, True]])
x0 = np.array([[[2.21], [-0.83], [1.6], [-0.52], [0.29], [0.09]], [[0.31], [-0.49], [-0.26], [1.48], [-0.63], [-1.43]], [[-0.67], [0.56], [-1.29], [0.73], [-1.57], [0.06]]], 'float64')
layer = layers.RNN(layers.SimpleRNNCell(5, dtype="float64"), dtype="float64")
out = []
layer(x0, mask=mask)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0, mask=mask))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[3, 5]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [-0.8294895100287466, -0.5818217967370195, -0.14294146573942085, 0.3604110036787301, 0.7156367158904076]]]
for got, want, bound in zip(leaves(out), expected, [5.71e-13]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
