import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, False, False, False], [False, False, True, True, False], [True, True, True, True, False], [False, False, False, False, False]])
x0 = np.array([[[0.51, 0.84, 0.58], [0.11, -0.94, -0.14], [0.45, 0.76, 0.55], [-0.54, -0.78, -0.53], [0.43, 0.07, 0.6]], [[-1.57, 0.13, 0.46], [1.76, -0.45, 0.79], [0.08, -0.03, 0.47], [-1.58, -0.0, -2.61], [0.97, 1.34, -1.49]], [[-0.56, 0.39, 2.51], [1.32, 2.53, 0.8], [-0.83, -1.08, 0.64], [0.75, 0.25, -0.34], [0.44, -1.66, 2.14]], [[-0.97, -1.63, -0.04], [-0.31, 0.8, -0.83], [0.58, 0.97, 0.76], [0.36, -0.41, 0.61], [-0.55, 1.57, -0.53]]], 'float32')
try:
    layer = layers.RNN([layers.LSTMCell(2), layers.LSTMCell(4)], stateful=True, unroll=True,
                   zero_output_for_mask=True)
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    layer.reset_states()
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
