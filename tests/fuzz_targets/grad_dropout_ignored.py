"""Forward-exact, gradient-wrong: the backward pass ignores the dropout masks the forward pass drew
(it differentiates the cell as if nothing were dropped), so with training=True and dropout the
gradient is not that of the forward pass with the same masks (GRAD-09)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import gradients as _gradients
from rnnconf.impl import rnnconf_set_seed  # noqa: F401 - masks fixed by seeding, as the reference


class _NoMasks(_gradients.Backward):
    @staticmethod
    def step(cell, x, states, d_out, d_states):
        cells = cell.cells if isinstance(cell, _gradients.StackedRNNCells) else [cell]
        kept = [(c, c._dropout_masks, c._recurrent_dropout_masks) for c in cells]
        for c in cells:
            c._dropout_masks = c._recurrent_dropout_masks = None
        try:
            return _gradients.step_backward(cell, x, states, d_out, d_states)
        finally:
            for c, masks, recurrent in kept:
                c._dropout_masks, c._recurrent_dropout_masks = masks, recurrent


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    return _gradients.layer_gradients(layer, inputs, cotangents, backward=_NoMasks, **kwargs)
