"""A stateful layer that starts every call from zeros: the states are kept (layer.states is right)
but never fed back into the next call (FLAG-04, STATE-02)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.stateful:
            self.reset_states()
        return super().call(inputs, mask, training, initial_state, constants)
