import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

mask = np.array([[True, True, True, True, True], [True, True, True, False, False], [True, False, False, False, False]])
x0 = np.array([[[-2.37, -1.15, 0.63, 0.11], [-0.51, -0.31, -0.81, 0.41], [0.95, 0.38, 0.55, -1.5], [1.12, 0.14, -1.23, 0.5], [0.76, -0.56, 0.34, 0.44]], [[0.01, -0.95, 0.57, 0.17], [-0.69, -0.69, 1.42, -0.18], [1.44, 0.92, 0.37, -2.17], [-1.02, -0.17, 1.18, 0.34], [1.24, 0.23, 1.21, -0.56]], [[-0.43, -0.41, 0.07, 1.9], [0.69, -0.65, -1.22, 1.29], [1.01, 0.45, 1.22, 0.73], [-0.43, -1.54, -1.97, 0.13], [-2.32, 0.89, 0.22, -1.17]]], 'float64')
try:
    layer = layers.RNN(layers.SimpleRNNCell(3, dtype="float64"), zero_output_for_mask=True, unroll=True,
                   dtype="float64")
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
