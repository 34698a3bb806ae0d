import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

mask = np.array([[True, True, True], [True, False, True]])
x0 = np.array([[[0.72, 0.2, -0.52], [-0.39, 0.41, -1.0], [-1.29, -1.22, -0.2]]], 'float32')
try:
    layer = layers.RNN(layers.SimpleRNNCell(2))
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
