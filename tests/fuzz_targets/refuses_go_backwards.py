"""The reference, except that every layer refuses the `go_backwards` argument at construction, as
Keras 3 refuses `time_major`: a feature the implementation lacks, named in its error."""
from impl import *  # noqa: F401,F403
from impl import GRU as _GRU
from impl import LSTM as _LSTM
from impl import RNN as _RNN
from impl import SimpleRNN as _SimpleRNN


def _refuse(kwargs):
    if "go_backwards" in kwargs:
        raise TypeError("__init__() got an unexpected keyword argument 'go_backwards'")


class RNN(_RNN):
    def __init__(self, cell, **kwargs):
        _refuse(kwargs)
        super().__init__(cell, **kwargs)


class SimpleRNN(_SimpleRNN):
    def __init__(self, units, **kwargs):
        _refuse(kwargs)
        super().__init__(units, **kwargs)


class GRU(_GRU):
    def __init__(self, units, **kwargs):
        _refuse(kwargs)
        super().__init__(units, **kwargs)


class LSTM(_LSTM):
    def __init__(self, units, **kwargs):
        _refuse(kwargs)
        super().__init__(units, **kwargs)
