"""`recurrent_dropout` is accepted and stored but never applied: the recurrent state enters every
step whole while training."""
from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import impl as _impl


class _NoRecurrentMask:
    def get_recurrent_dropout_mask_for_cell(self, inputs, training, count=1):
        return None


class SimpleRNNCell(_NoRecurrentMask, _impl.SimpleRNNCell):
    pass


class GRUCell(_NoRecurrentMask, _impl.GRUCell):
    pass


class LSTMCell(_NoRecurrentMask, _impl.LSTMCell):
    pass


class SimpleRNN(_impl.SimpleRNN):
    cell_class = SimpleRNNCell


class GRU(_impl.GRU):
    cell_class = GRUCell


class LSTM(_impl.LSTM):
    cell_class = LSTMCell
