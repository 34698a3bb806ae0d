"""The reference, except that a call with a mask is refused (NotImplementedError): a feature the
implementation lacks, so unsupported, never failed."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if mask is not None:
            raise NotImplementedError("masks are not supported")
        return super().call(inputs, mask, training, initial_state, constants)
