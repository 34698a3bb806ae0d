"""The dropout rate is used as the keep probability (TF1's `keep_prob` read as Keras' `rate`): units
are kept with probability `rate` and scaled by 1 / rate. Invisible at rate 0.5, wrong anywhere else."""
from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _RateAsKeep:
    def _draw(self, like, rate, count):
        return super()._draw(like, 1.0 - rate, count)


globals().update(cells_with(_RateAsKeep))
