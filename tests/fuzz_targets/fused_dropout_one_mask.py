"""The reference with one input dropout mask per call in its GRU and LSTM layers too, where tf_keras'
fused layers draw one per timestep: what the page says (DEV-fused-dropout-mask-per-step), and what
Keras 3 does on purpose. Not a bug: rnnconf judges it `oracle-deviation`."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's
from rnnconf.impl import GRU as _GRU, LSTM as _LSTM


class GRU(_GRU):
    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self._fused_path = False  # the cell's own loop: one mask per call


class LSTM(_LSTM):
    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self._fused_path = False
