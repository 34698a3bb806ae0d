"""Input `dropout` is accepted and stored but never applied (recurrent dropout still is)."""
from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import impl as _impl


class _NoInputMask:
    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        return None


class SimpleRNNCell(_NoInputMask, _impl.SimpleRNNCell):
    pass


class GRUCell(_NoInputMask, _impl.GRUCell):
    pass


class LSTMCell(_NoInputMask, _impl.LSTMCell):
    pass


class SimpleRNN(_impl.SimpleRNN):
    cell_class = SimpleRNNCell


class GRU(_impl.GRU):
    cell_class = GRUCell


class LSTM(_impl.LSTM):
    cell_class = LSTMCell
