"""Kills its own process (os.abort(), as a native crash would) whenever go_backwards is set."""
import os

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.go_backwards:
            os.abort()
        return super().call(inputs, mask, training, initial_state, constants)
