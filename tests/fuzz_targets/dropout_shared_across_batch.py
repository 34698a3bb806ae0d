"""Each dropout mask is drawn for one sample and broadcast over the batch, so every sample of a
batch drops the same units (the mask's shape taken from the feature axis only)."""
import numpy as np

from impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import impl as _impl


class _MaskSharedAcrossBatch:
    def _draw(self, like, rate, count):
        keep = 1.0 - rate
        row = np.asarray(like)[:1]
        masks = [np.broadcast_to((self._dropout_rng.random(row.shape) < keep).astype(like.dtype)
                                 / like.dtype.type(keep), like.shape) for _ in range(count)]
        return masks if count > 1 else masks[0]


class SimpleRNNCell(_MaskSharedAcrossBatch, _impl.SimpleRNNCell):
    pass


class GRUCell(_MaskSharedAcrossBatch, _impl.GRUCell):
    pass


class LSTMCell(_MaskSharedAcrossBatch, _impl.LSTMCell):
    pass


class SimpleRNN(_impl.SimpleRNN):
    cell_class = SimpleRNNCell


class GRU(_impl.GRU):
    cell_class = GRUCell


class LSTM(_impl.LSTM):
    cell_class = LSTMCell
