"""The mask reaches the layer but the loop ignores it: masked steps update the state like any
other step instead of carrying it (MASK-01)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, **kwargs):
        return super().call(inputs, mask=None, **kwargs)
