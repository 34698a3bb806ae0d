"""GRUCell with reset_after=True (the default) drops its recurrent bias: a classic port bug, since
Keras 2 keeps two bias rows for that variant."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import GRUCell as _GRUCell


class GRUCell(_GRUCell):
    def call(self, inputs, states, training=None):
        if not (self.reset_after and self.use_bias):
            return super().call(inputs, states, training=training)
        saved = self.bias.copy()
        self.bias[1] = 0
        try:
            return super().call(inputs, states, training=training)
        finally:
            self.bias[...] = saved
