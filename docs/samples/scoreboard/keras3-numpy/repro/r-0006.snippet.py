import os
os.environ['KERAS_BACKEND'] = 'numpy'
os.environ['JAX_ENABLE_X64'] = '1'
os.environ['JAX_PLATFORMS'] = 'cpu'
import numpy as np
import re
import keras.layers as layers

x0 = np.array([[0.72, 0.2, -0.52, -0.39], [0.41, -1.0, -1.29, -1.22]], 'float32')
try:
    layer = layers.RNN(layers.SimpleRNNCell(2))
    out = []
    layer(x0)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'ValueError', f"expected ValueError, got {raised!r}"
facts = re.search('Shape (?P<shape>\\([^)]*\\)) must have rank at least (?P<rank>\\d+)', str(raised))
assert facts and {n: facts.group(n) for n in ['shape', 'rank']} == {'shape': '(4, 2)', 'rank': '3'}, raised
