"""Never returns when unroll is set (a hang the per-example timeout must catch)."""
import time

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.unroll:
            time.sleep(3600)
        return super().call(inputs, mask, training, initial_state, constants)
