import os
os.environ['KERAS_BACKEND'] = 'torch'
import numpy as np
import re
import keras.layers as layers

x0 = np.array([[[0.72, 0.2, -0.52], [-0.39, 0.41, -1.0], [-1.29, -1.22, -0.2]], [[-1.76, -0.11, -0.68], [1.94, 0.27, -1.54], [-0.04, 1.36, -1.58]]], 'float32')
try:
    layer = layers.RNN(layers.SimpleRNNCell(2.5))
    out = []
    layer(x0)  # builds the weights
    layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    out.append(layer(x0))
    raised = None
except Exception as e:
    raised = e
assert type(raised).__name__ == 'TypeError', f"expected TypeError, got {raised!r}"
facts = re.search("Dimension value must be integer or None or have an __index__ method, got value '(?P<value>[^(\\[].*?)'", str(raised))
assert facts and {n: facts.group(n) for n in ['value']} == {'value': '2.5'}, raised
