"""The reference, with a "compiler" for reused layers whose compiled call raises for a stack (as
Keras 3's traced stacks of float64 cells do: their states enter the loop as float32); eager calls
are fine, so such structures are reused eagerly."""
from rnnconf.impl import *  # noqa: F401,F403


def rnnconf_compile(fn):
    runner = fn.__self__  # execute.Runner: its weights go in as an eager call's do (NumPy has no assign)

    def compiled(weights, x, kwargs):
        if len(getattr(runner.layer.cell, "cells", [])) > 1:
            raise TypeError("Loop var enters the loop with type float32 but has type float64 after 1 iteration")
        runner._weights_installed = False
        runner._install_weights()
        return runner._eager_forward(x, kwargs)
    return compiled
