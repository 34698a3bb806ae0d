"""The reference, with a "compiler" for reused layers that kills the process (os.abort(), as TF
does tracing some zero-width stacks) when the layer has go_backwards; eager calls are fine."""
import os

from rnnconf.impl import *  # noqa: F401,F403


def rnnconf_compile(fn):
    def compiled(weights, x, kwargs):
        if fn.__self__.layer.go_backwards:
            os.abort()
        return fn(weights, x, kwargs)
    return compiled
