import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import keras.layers as layers

mask = np.array([[False, False, False, False, False, False, False, False], [True, True, True, True, True, True, True, True], [False, False, False, False, False, False, True, True]])
x0 = np.array([[[-0.5], [-2.21], [0.41], [-0.27], [0.93], [-0.03], [0.59], [-0.41]], [[-0.59], [0.94], [-0.02], [-1.1], [-1.04], [0.36], [1.95], [0.05]], [[1.77], [0.81], [0.78], [-1.08], [0.43], [-0.66], [1.54], [-0.27]]], 'float32')
try:
    layer = layers.RNN(layers.SimpleRNNCell(5), go_backwards=True, unroll=True)
    out = []
    layer(x0, mask=mask)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0, mask=mask))
    raised = None
except Exception as e:
    raised = e
assert raised is None, f"the oracle raises nothing here, got {raised!r}"
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[3, 5]], shapes(out)
