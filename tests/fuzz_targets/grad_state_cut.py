"""Forward-exact, gradient-wrong: the carried state's gradient is cut at every step (as if each
step's previous state went through a stop-gradient), so back-propagation reaches one step back only
(GRAD-01, GRAD-03: the initial state gets no gradient)."""
from rnnconf.impl import *  # noqa: F401,F403 - the forward pass is the reference's
from rnnconf.impl import gradients as _gradients


class _StateCut(_gradients.Backward):
    @staticmethod
    def step(cell, x, states, d_out, d_states):
        dx, d_prev, grads = _gradients.step_backward(cell, x, states, d_out, d_states)
        return dx, [0 * d for d in d_prev], grads


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    return _gradients.layer_gradients(layer, inputs, cotangents, backward=_StateCut, **kwargs)
