import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import re
import keras.layers as layers

mask = np.array([[True, True, True, True, True], [True, True, False, False, False]])
x0 = np.array([[[0.72, 0.2, -0.52], [-0.39, 0.41, -1.0], [-1.29, -1.22, -0.2], [-1.76, -0.11, -0.68]], [[1.94, 0.27, -1.54], [-0.04, 1.36, -1.58], [0.17, 0.05, 0.39], [-0.3, -2.23, 0.7]]], 'float32')
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
facts = re.search('Cannot unstack (?P<count>\\d+) tensors into a TensorArray of static size (?P<size>\\d+)', str(raised))
assert facts and {n: facts.group(n) for n in ['count', 'size']} == {'count': '5', 'size': '4'}, raised
