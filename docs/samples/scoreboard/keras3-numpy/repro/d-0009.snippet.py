import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, True, False, False, True, True], [False, True, False, True, True, False, True], [True, True, True, True, True, True, True]])
x0 = np.array([[[0.84], [0.07], [-0.85], [-0.16], [-1.27], [-1.48], [-0.95]], [[1.13], [-0.36], [1.76], [0.15], [0.27], [-0.77], [-1.2]], [[-0.16], [-1.3], [0.26], [-0.22], [0.52], [-0.37], [-0.47]]], 'float32')
h0 = [np.array([[-0.35, 0.09, -0.16, -0.03], [0.76, -0.01, -0.23, -0.09], [0.36, 0.4, 0.18, 0.07]], 'float32'), np.array([[0.03, 0.29, 0.68, -0.59], [0.49, -0.76, 0.41, 0.76], [-0.34, -0.19, -0.93, 0.6]], 'float32'), np.array([[0.57, -0.11, 0.46], [0.03, 0.16, -0.9], [0.96, 0.05, 0.93]], 'float32')]
try:
    layer = layers.RNN([layers.GRUCell(4), layers.GRUCell(4), layers.GRUCell(3)])
    out = []
    layer(x0, mask=mask, initial_state=h0)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask, initial_state=h0))
    raised = None
except Exception as e:
    raised = e
assert raised is None, f"the oracle raises nothing here, got {raised!r}"
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[3, 3]], shapes(out)
