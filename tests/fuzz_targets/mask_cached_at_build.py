"""The layer keeps the first mask it is called with and applies it to every later call: a fresh
layer is right, a reused one masks with an earlier call's mask (MASK-01). Only a reused layer
shows it."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if mask is not None:
            if getattr(self, "_first_mask", None) is None:
                self._first_mask = np.array(mask)
            mask = self._first_mask
        return super().call(inputs, mask, training, initial_state, constants)
