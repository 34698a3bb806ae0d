"""Forward-exact, gradient-wrong: a float64 layer back-propagates in float32 (its gradients are
computed from float32 copies, then cast back), so they agree to float32 precision only (GRAD-10)."""
import numpy as _np

from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import gradients as _gradients


def _f32(a):
    return a.astype(_np.float32).astype(a.dtype) if a.dtype == _np.float64 else a


class _Float32(_gradients.Backward):
    @staticmethod
    def step(cell, x, states, d_out, d_states):
        dx, d_prev, grads = _gradients.step_backward(cell, x, states, d_out, d_states)
        return _f32(dx), [_f32(d) for d in d_prev], [_f32(g) for g in grads]


def rnnconf_gradients(layer, inputs, kwargs, cotangents):
    return _gradients.layer_gradients(layer, inputs, cotangents, backward=_Float32, **kwargs)
