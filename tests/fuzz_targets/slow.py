"""Takes half a second per call when time_major is set: slow, not hung."""
import time

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.time_major:
            time.sleep(0.5)
        return super().call(inputs, mask, training, initial_state, constants)
