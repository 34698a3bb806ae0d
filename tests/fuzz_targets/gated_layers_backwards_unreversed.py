"""GRU and LSTM (the layers, not RNN over their cells) with go_backwards put the returned sequence
back in input order (FLAG-03 says the returned sequence is the reversed one)."""
import numpy as np

from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
from impl import GRU as _GRU
from impl import LSTM as _LSTM


def _unreversed(layer, result):
    if not (layer.go_backwards and layer.return_sequences):
        return result
    axis = 0 if layer.time_major else 1
    if isinstance(result, list):
        return [np.flip(result[0], axis)] + result[1:]
    return np.flip(result, axis)


class GRU(_GRU):
    def call(self, inputs, mask=None, training=None, initial_state=None):
        return _unreversed(self, super().call(inputs, mask, training, initial_state))


class LSTM(_LSTM):
    def call(self, inputs, mask=None, training=None, initial_state=None):
        return _unreversed(self, super().call(inputs, mask, training, initial_state))
