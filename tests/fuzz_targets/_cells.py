"""The reference's built-in cells with one behaviour changed, and the layers built on them: what
the planted dropout bugs share."""
import rnnconf.impl as _impl


def cells_with(mixin):
    """SimpleRNNCell, GRUCell, LSTMCell with `mixin` first in their bases, and SimpleRNN, GRU, LSTM
    built on them, by name (for a target module's globals())."""
    cells = {name: type(name, (mixin, getattr(_impl, name)), {}) for name in ("SimpleRNNCell", "GRUCell", "LSTMCell")}
    layers = {name: type(name, (getattr(_impl, name),), {"cell_class": cells[f"{name}Cell"]})
              for name in ("SimpleRNN", "GRU", "LSTM")}
    return {**cells, **layers}
