"""`initial_state` given to the call is accepted and checked, but the loop starts from zeros
(CALL-04, INIT-01)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        return super().call(inputs, mask, training, None, constants)
