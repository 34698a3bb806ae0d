import numpy as np
import keras.layers as layers

x0 = np.array([[[0.73], [0.18], [0.16], [1.58], [2.07], [0.76], [2.51], [0.37]], [[0.48], [-0.69], [-1.99], [-0.32], [1.31], [0.97], [3.24], [0.49]]], 'float32')
try:
    layer = layers.RNN([layers.LSTMCell(5), layers.GRUCell(5), layers.GRUCell(2)], stateful=True)
    out = []
    layer(x0)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    layer.reset_states()
    out.append(layer(x0))
    raised = None
except Exception as e:
    raised = e
assert raised is None, f"the oracle raises nothing here, got {raised!r}"
def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))
assert shapes(out) == [[2, 2]], shapes(out)
