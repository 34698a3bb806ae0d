import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

mask = np.array([[True, True, True, True, True], [True, True, True, False, False], [True, False, False, False, False]])
x0 = np.array([[[-1.29, -1.88, -0.16, -0.32], [0.16, 0.2, -0.83, -1.62], [-0.69, 0.98, -1.14, -0.57], [0.73, 0.13, 1.68, 1.15], [1.08, -1.17, 0.71, -0.18]], [[0.0, 0.68, -0.68, -0.26], [-1.35, 1.68, -0.35, 0.94], [0.1, -0.85, 0.86, -1.22], [-0.64, -0.45, -0.49, 0.25], [-0.63, 0.62, -1.4, 0.82]], [[-1.17, -0.34, -1.06, 0.76], [-1.64, -0.66, -1.42, -0.23], [0.66, 1.23, 1.57, 0.84], [-0.02, -1.38, -1.48, 0.03], [-0.01, 0.53, -0.71, -1.0]]], 'float64')
try:
    layer = layers.RNN([layers.LSTMCell(3, dtype="float64"), layers.GRUCell(2, dtype="float64"), layers.SimpleRNNCell(4, dtype="float64")],
                   zero_output_for_mask=True, unroll=True, dtype="float64")
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
