"""One bug in two disguises, as Keras 3's float64 stacks show it: float64 results computed at float32
precision (float64_rounded), and, where a mask selects between the float64 input and those float32
results, a refusal naming the two dtypes ("expected a double tensor but is a float tensor")."""
import numpy as np

from impl import *  # noqa: F401,F403

from . import float64_rounded


class RNN(float64_rounded.RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if mask is not None and np.asarray(inputs).dtype == np.float64:
            raise TypeError("cannot compute Select as input #2 was expected to be a double tensor but is a "
                            "float tensor")
        return super().call(inputs, mask, training, initial_state, constants)
