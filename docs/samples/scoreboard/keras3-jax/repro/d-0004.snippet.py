import os
os.environ['KERAS_BACKEND'] = 'jax'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

x0 = np.array([[[0.72, 0.2, -0.52], [-0.39, 0.41, -1.0], [-1.29, -1.22, -0.2]], [[-1.76, -0.11, -0.68], [1.94, 0.27, -1.54], [-0.04, 1.36, -1.58]]], 'float64')
layer = layers.RNN(layers.GRUCell(2, dtype="float64"), dtype="float64")
out = []
layer(x0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[2, 2]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[-0.1085164975403198, -0.058425305158171834], [-0.6901704845620362, -0.637456945066394]]]
for got, want, bound in zip(leaves(out), expected, [1.37e-13]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
