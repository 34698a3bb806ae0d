"""go_backwards processes the input backwards, but the returned sequence is put back in input
order (FLAG-03 says the returned sequence is the reversed one)."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        result = super().call(inputs, mask, training, initial_state, constants)
        if not (self.go_backwards and self.return_sequences):
            return result
        axis = 0 if self.time_major else 1
        if isinstance(result, list):
            return [np.flip(result[0], axis)] + result[1:]
        return np.flip(result, axis)
