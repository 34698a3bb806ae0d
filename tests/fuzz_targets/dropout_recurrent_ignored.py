"""`recurrent_dropout` is accepted and stored but never applied: the recurrent state enters every
step whole while training."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _NoRecurrentMask:
    def get_recurrent_dropout_mask_for_cell(self, inputs, training, count=1):
        return None


globals().update(cells_with(_NoRecurrentMask))
