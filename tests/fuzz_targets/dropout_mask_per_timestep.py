"""Dropout masks are drawn afresh at every timestep instead of once per call (the cached masks are
never reused), so each step drops different units: naive per-step dropout, not the variational
dropout of Keras' cells."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _MaskPerStep:
    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        self.reset_dropout_mask()
        return super().get_dropout_mask_for_cell(inputs, training, count)

    def get_recurrent_dropout_mask_for_cell(self, inputs, training, count=1):
        self.reset_recurrent_dropout_mask()
        return super().get_recurrent_dropout_mask_for_cell(inputs, training, count)


globals().update(cells_with(_MaskPerStep))
