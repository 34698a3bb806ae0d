import numpy as np
import keras.layers as layers

x0 = np.array([[[1.27], [1.34], [-0.63], [-1.06], [0.92]], [[-0.28], [0.3], [0.68], [0.32], [-0.45]], [[2.04], [0.28], [0.77], [2.26], [3.01]]], 'float64')
layer = layers.RNN([layers.SimpleRNNCell(2, dtype="float64"), layers.SimpleRNNCell(5, dtype="float64")],
               dtype="float64")
out = []
layer(x0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[3, 5]], shapes(out)
def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) else [np.asarray(r, 'float64')]
expected = [[[0.08208850670912932, 0.5084985025153325, 0.7775448484445668, 0.9082715581688099, 0.9637431179758565], [-0.28829461684018215, 0.25622528721841564, 0.6755234446064106, 0.8808624186561962, 0.9594047845564243], [0.3259143366980578, 0.6629694204168837, 0.8504941519097494, 0.9375950693900431, 0.9746469183102545]]]
for got, want, bound in zip(leaves(out), expected, [3.92e-12]):
    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound
