"""A wrong kind of leniency, beside tests/wrapped_impls/tfk_numpy_states: NumPy `initial_state`
arrays are accepted and silently dropped (the call starts from zeros). rnnconf must fail it on ERR-25."""
import numpy as np
import tf_keras.layers as _layers
from tf_keras.layers import *  # noqa: F401,F403


def _holds_numpy(value):
    if isinstance(value, (list, tuple)):
        return any(_holds_numpy(item) for item in value)
    return isinstance(value, np.ndarray)


class _DropsNumPyStates:
    def __call__(self, *args, **kwargs):
        if _holds_numpy(kwargs.get("initial_state")):
            kwargs["initial_state"] = None
        return super().__call__(*args, **kwargs)


RNN, SimpleRNN, GRU, LSTM = (type(name, (_DropsNumPyStates, getattr(_layers, name)), {})
                             for name in ("RNN", "SimpleRNN", "GRU", "LSTM"))
