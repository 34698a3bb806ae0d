"""Input `dropout` is accepted and stored but never applied (recurrent dropout still is)."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _NoInputMask:
    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        return None


globals().update(cells_with(_NoInputMask))
