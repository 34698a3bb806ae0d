"""Dropout masks keep units with probability 1 - rate but do not scale them by 1 / (1 - rate), so
the kept activations are too small while training (inverted dropout half-implemented)."""
from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import impl as _impl


class _UnscaledMasks:
    def _draw(self, like, rate, count):
        masks = [(self._dropout_rng.random(like.shape) < 1.0 - rate).astype(like.dtype) for _ in range(count)]
        return masks if count > 1 else masks[0]


class SimpleRNNCell(_UnscaledMasks, _impl.SimpleRNNCell):
    pass


class GRUCell(_UnscaledMasks, _impl.GRUCell):
    pass


class LSTMCell(_UnscaledMasks, _impl.LSTMCell):
    pass


class SimpleRNN(_impl.SimpleRNN):
    cell_class = SimpleRNNCell


class GRU(_impl.GRU):
    cell_class = GRUCell


class LSTM(_impl.LSTM):
    cell_class = LSTMCell
