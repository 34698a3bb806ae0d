import numpy as np
import keras.layers as layers

x0 = np.array([[[1.27], [1.34], [-0.63], [-1.06], [0.92]], [[-0.28], [0.3], [0.68], [0.32], [-0.45]], [[2.04], [0.28], [0.77], [2.26], [3.01]]], 'float64')
layer = layers.RNN([layers.SimpleRNNCell(2, dtype="float64"), layers.SimpleRNNCell(2, dtype="float64")],
               dtype="float64")
out = []
layer(x0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[3, 2]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.26357745101399604, 0.9500388807517237], [-0.22961927756422373, 0.9235554574270509], [0.2858021093688864, 0.9593791014607845]]]
for got, want, bound in zip(leaves(out), expected, [3.89e-12]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
