import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

x0 = np.array([[[0.72, 0.2, -0.52]], [[-0.39, 0.41, -1.0]]], 'float64')
layer = layers.RNN([layers.SimpleRNNCell(2, dtype="float64"), layers.SimpleRNNCell(2, dtype="float64")],
               return_state=True, dtype="float64")
out = []
layer(x0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[[2, 2], [2, 2], [2, 2]]], shapes(out)
