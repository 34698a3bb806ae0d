"""The reference, except that its first call stalls for 30 s (as a busy machine can stall a worker)
while the file named by RNNCONF_STALL_MARK does not exist, which it then creates: the timeout does
not repeat, so it is no hang."""
import os
import time

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN

_MARK = os.environ["RNNCONF_STALL_MARK"]


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if not os.path.exists(_MARK):
            open(_MARK, "w").close()
            time.sleep(30)
        return super().call(inputs, mask, training, initial_state, constants)
