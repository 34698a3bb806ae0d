"""Holds 4 MiB more per call whenever return_state is set and lets all of it go every 10th such
call: memory that swings by 40 MiB without growing, like a tf_keras worker's layer pool filling and
being cleared. The workers' recycling must not take that for a leak."""
import mmap

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN

_HELD = []


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.return_state:
            if len(_HELD) == 10:
                for block in _HELD:
                    block.close()  # an anonymous mapping: its pages go back to the system at once
                _HELD.clear()
            block = mmap.mmap(-1, 2 ** 22)
            block.write(b"\1" * 2 ** 22)  # touched, so resident
            _HELD.append(block)
        return super().call(inputs, mask, training, initial_state, constants)
