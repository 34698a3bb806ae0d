"""tf_keras with one addition: its recurrent layers take NumPy arrays as `initial_state` and
`constants` (converted to tensors), which tf_keras refuses for its own reasons (ERR-25, an oracle
limitation). Everything else is tf_keras itself: rnnconf must judge it lenient there, pass elsewhere."""
import numpy as np
import tensorflow as tf
import tf_keras.layers as _layers
from tf_keras.layers import *  # noqa: F401,F403


def _as_tensors(value):
    if isinstance(value, np.ndarray):
        return tf.convert_to_tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_as_tensors(item) for item in value)
    return value


class _NumPyStates:
    def __call__(self, *args, **kwargs):
        for key in ("initial_state", "constants"):
            if kwargs.get(key) is not None:
                kwargs[key] = _as_tensors(kwargs[key])
        return super().__call__(*args, **kwargs)


# The same class names as tf_keras': layer names and error messages stay tf_keras'.
RNN, SimpleRNN, GRU, LSTM = (type(name, (_NumPyStates, getattr(_layers, name)), {})
                             for name in ("RNN", "SimpleRNN", "GRU", "LSTM"))
