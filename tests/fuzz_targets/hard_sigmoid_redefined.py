"""hard_sigmoid is x/6 + 0.5 clipped (Keras 3's definition) where Keras 2 uses 0.2x + 0.5: cells
with a hard_sigmoid activation or gate compute other values (CELL-03, CELL-04)."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import GRUCell as _GRUCell
from rnnconf.impl import LSTMCell as _LSTMCell
from rnnconf.impl import SimpleRNNCell as _SimpleRNNCell


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype)


def _redefined(cls):
    class Cell(cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name in ("activation", "recurrent_activation"):
                if getattr(getattr(self, name, None), "__name__", "") == "hard_sigmoid":
                    setattr(self, name, _hard_sigmoid)
    Cell.__name__ = cls.__name__
    return Cell


SimpleRNNCell, GRUCell, LSTMCell = _redefined(_SimpleRNNCell), _redefined(_GRUCell), _redefined(_LSTMCell)
