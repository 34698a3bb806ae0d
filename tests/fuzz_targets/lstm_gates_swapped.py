"""LSTMCell reads its input and forget gates from each other's kernel columns (a port that assumed
another gate order than Keras' i, f, c, o): values differ for every LSTM (CELL-04)."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import LSTMCell as _LSTMCell


class LSTMCell(_LSTMCell):
    def call(self, inputs, states, training=None):
        u = self.units
        saved = [w.copy() for w in (self.kernel, self.recurrent_kernel)]
        for w in (self.kernel, self.recurrent_kernel):
            w[:, :2 * u] = np.concatenate([w[:, u:2 * u], w[:, :u]], axis=1)
        try:
            return super().call(inputs, states, training=training)
        finally:
            self.kernel[...], self.recurrent_kernel[...] = saved
