import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[True, True, True]])
x0 = np.array([[[-0.78], [-2.19], [0.49]]], 'float32')
h0 = [np.array([[-0.25, -0.68]], 'float32'), np.array([[-0.59]], 'float32')]
layer = layers.RNN([layers.SimpleRNNCell(2), layers.SimpleRNNCell(1)])
out = []
layer(x0, mask=mask, initial_state=h0)  # builds the weights
layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                   for w in layer.get_weights()])
out.append(layer(x0, mask=mask, initial_state=h0))
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[1, 1]], shapes(out)
