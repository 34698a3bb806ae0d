import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False], [True, False], [True, False], [True, True]])
x0 = np.array([[[-0.59, 0.08, -1.44], [-1.46, -0.75, -1.46]], [[-0.67, -0.31, -0.09], [0.34, -1.51, 0.19]], [[-0.21, 0.81, 0.96], [0.19, -0.96, 1.34]], [[-0.13, 0.02, -0.33], [1.01, 0.45, -0.77]]], 'float32')
try:
    layer = layers.RNN(layers.SimpleRNNCell(4), go_backwards=True, unroll=True,
                   zero_output_for_mask=True)
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
