import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

x0 = np.array([[[-1.18, -0.7, 2.38, 1.38], [-0.97, -1.08, 0.54, -0.01], [0.47, 2.07, 0.01, 1.11], [-0.75, 1.33, 1.28, 1.08], [0.15, 0.26, 3.22, 0.36]], [[-0.08, 1.13, -1.08, -0.19], [1.23, -0.84, 0.61, -0.6], [-1.25, -1.01, 1.2, 0.29], [-0.04, -2.09, -0.08, -1.58], [1.55, -1.78, -0.53, -0.04]], [[-1.41, -0.14, 0.52, -0.85], [0.19, 0.55, 1.33, 1.28], [0.53, -1.28, 1.49, 0.85], [0.99, 0.0, 0.42, -3.78], [1.06, 0.55, -1.15, 0.07]]], 'float64')
layer = layers.RNN([layers.LSTMCell(3, dtype="float64"), layers.GRUCell(2, dtype="float64"), layers.SimpleRNNCell(4, dtype="float64")],
               unroll=True, go_backwards=True, return_sequences=True, return_state=True,
               dtype="float64")
out = []
layer(x0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[[3, 5, 4], [[3, 3], [3, 3]], [3, 2], [3, 4]]], shapes(out)
