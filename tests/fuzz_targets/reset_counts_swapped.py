"""reset_states(states) with the wrong number of arrays raises the right class (ValueError) but
states the two counts the wrong way round: the error's facts differ (ERR-14)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN
from rnnconf.impl.nest import flatten


class RNN(_RNN):
    def reset_states(self, states=None):
        if self.stateful and states is not None and flatten(self.states)[0] is not None:
            expected, received = len(flatten(self.states)), len(flatten(states))
            if expected != received:
                raise ValueError(f"Layer {self.name} expects {received} states, but it received "
                                 f"{expected} state values. States received: {states}")
        return super().reset_states(states)
