"""Forward-exact, gradient-wrong: a masked timestep leaks gradient. The output and state gradients
reach the cell as if the step were not masked, while the state's gradient also passes by it to the
earlier state (GRAD-05: padding gets gradient)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import gradients as _gradients


class _MaskLeak(_gradients.Backward):
    @staticmethod
    def route_masked(m, g, d_states, carries_previous):
        g_cell, carry, passed, _ = _gradients._route_masked(m, g, d_states, carries_previous)
        return g, carry, passed, d_states


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    return _gradients.layer_gradients(layer, inputs, cotangents, backward=_MaskLeak, **kwargs)
