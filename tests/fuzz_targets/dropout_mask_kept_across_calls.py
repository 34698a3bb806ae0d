"""The layer never clears its cells' cached dropout masks, so every call (every batch) after the
first reuses the first call's masks: the same units stay dropped for the whole of training."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
import rnnconf.impl as _impl


class RNN(_impl.RNN):
    def _reset_dropout_masks(self):
        pass


class SimpleRNN(_impl.SimpleRNN):
    def _reset_dropout_masks(self):
        pass


class GRU(_impl.GRU):
    def _reset_dropout_masks(self):
        pass


class LSTM(_impl.LSTM):
    def _reset_dropout_masks(self):
        pass
