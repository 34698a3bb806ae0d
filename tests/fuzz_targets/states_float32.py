"""With return_state, the returned states are float32 whatever the layer's dtype (a buffer
allocated with the default dtype): a dtype difference for float64 layers (FLAG-02)."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        result = super().call(inputs, mask, training, initial_state, constants)
        if not self.return_state:
            return result
        return [result[0]] + [_float32(state) for state in result[1:]]


def _float32(state):
    if isinstance(state, (list, tuple)):
        return [_float32(s) for s in state]
    return np.asarray(state, np.float32)
