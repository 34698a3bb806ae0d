"""With return_state, a stack of cells returns each cell's states in a list of their own
([output, [h1], [h2]] where Keras 2 returns [output, h1, h2]): a structure difference (SHAPE-02,
CELL-10)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN
from rnnconf.impl import StackedRNNCells


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        result = super().call(inputs, mask, training, initial_state, constants)
        if not (self.return_state and isinstance(self.cell, StackedRNNCells)):
            return result
        return [result[0]] + [state if isinstance(state, list) else [state] for state in result[1:]]
