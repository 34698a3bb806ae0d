"""Forward-exact, gradient-wrong: the recurrent kernel's gradient is scaled by the batch size's
inverse, as if it were averaged over the rows where the loss sums them (GRAD-02); a batch of one
hides it."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import gradients as _gradients


class _Scaled(_gradients.Backward):
    @staticmethod
    def step(cell, x, states, d_out, d_states):
        dx, d_prev, grads = _gradients.step_backward(cell, x, states, d_out, d_states)
        if isinstance(cell, _gradients.StackedRNNCells):
            return dx, d_prev, grads  # its cells' steps came through here already
        kernel, recurrent_kernel, *rest = grads
        return dx, d_prev, [kernel, recurrent_kernel / x.shape[0], *rest]


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    return _gradients.layer_gradients(layer, inputs, cotangents, backward=_Scaled, **kwargs)
