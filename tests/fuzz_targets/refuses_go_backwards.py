"""The reference, except that every layer refuses the `go_backwards` argument at construction, as
Keras 3 refuses `time_major`: a feature the implementation lacks, named in its error."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import GRU as _GRU
from rnnconf.impl import LSTM as _LSTM
from rnnconf.impl import RNN as _RNN
from rnnconf.impl import SimpleRNN as _SimpleRNN


def _refusing(base):
    class Refusing(base):
        def __init__(self, *args, **kwargs):
            if "go_backwards" in kwargs:
                raise TypeError("__init__() got an unexpected keyword argument 'go_backwards'")
            super().__init__(*args, **kwargs)
    Refusing.__name__ = Refusing.__qualname__ = base.__name__
    return Refusing


RNN, SimpleRNN, GRU, LSTM = (_refusing(base) for base in (_RNN, _SimpleRNN, _GRU, _LSTM))
