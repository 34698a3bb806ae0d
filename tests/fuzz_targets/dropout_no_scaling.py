"""Dropout masks keep units with probability 1 - rate but do not scale them by 1 / (1 - rate), so
the kept activations are too small while training (inverted dropout half-implemented)."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _UnscaledMasks:
    def _draw(self, like, rate, count):
        masks = [(self._dropout_rng.random(like.shape) < 1.0 - rate).astype(like.dtype) for _ in range(count)]
        return masks if count > 1 else masks[0]


globals().update(cells_with(_UnscaledMasks))
