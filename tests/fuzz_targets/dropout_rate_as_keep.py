"""The dropout rate is used as the keep probability (TF1's `keep_prob` read as Keras' `rate`): units
are kept with probability `rate` and scaled by 1 / rate. Invisible at rate 0.5, wrong anywhere else."""
from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import impl as _impl


class _RateAsKeep:
    def _draw(self, like, rate, count):
        return super()._draw(like, 1.0 - rate, count)


class SimpleRNNCell(_RateAsKeep, _impl.SimpleRNNCell):
    pass


class GRUCell(_RateAsKeep, _impl.GRUCell):
    pass


class LSTMCell(_RateAsKeep, _impl.LSTMCell):
    pass


class SimpleRNN(_impl.SimpleRNN):
    cell_class = SimpleRNNCell


class GRU(_impl.GRU):
    cell_class = GRUCell


class LSTM(_impl.LSTM):
    cell_class = LSTMCell
