"""float64_refused_under_mask, and a second bug, as Keras 3 has both: a stack of cells under a mask
refuses to run ("The two structures don't have the same nested structure."), which a float64 stack
never reaches since its mask's select raises first. A float64 masked stack carries both bugs'
features: which one its error is cannot be told from outside."""
import numpy as np

from impl import *  # noqa: F401,F403
from impl import StackedRNNCells

from . import float64_refused_under_mask


class RNN(float64_refused_under_mask.RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if mask is not None and isinstance(self.cell, StackedRNNCells) and np.asarray(inputs).dtype != np.float64:
            raise ValueError("The two structures don't have the same nested structure.")
        return super().call(inputs, mask, training, initial_state, constants)
