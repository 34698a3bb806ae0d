"""Each dropout mask is drawn for one sample and broadcast over the batch, so every sample of a
batch drops the same units (the mask's shape taken from the feature axis only)."""
import numpy as np

from rnnconf.impl import *  # noqa: F401,F403 - the rest of the namespace is the reference's

from ._cells import cells_with


class _MaskSharedAcrossBatch:
    def _draw(self, like, rate, count):
        keep = 1.0 - rate
        row = np.asarray(like)[:1]
        masks = [np.broadcast_to((self._dropout_rng.random(row.shape) < keep).astype(like.dtype)
                                 / like.dtype.type(keep), like.shape) for _ in range(count)]
        return masks if count > 1 else masks[0]


globals().update(cells_with(_MaskSharedAcrossBatch))
