"""Two independent bugs that both raise ValueError where the contract computes, and that share a
feature: a go_backwards layer refuses a mask, and a go_backwards layer refuses to return its states.
Each has its own message: two raises, two root causes."""
from impl import *  # noqa: F401,F403
from impl import RNN as _RNN


class RNN(_RNN):
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if self.go_backwards and mask is not None:
            raise ValueError("the reversed mask does not match the input's length")
        if self.go_backwards and self.return_state:
            raise ValueError("states of a reversed sequence are not returned")
        return super().call(inputs, mask, training, initial_state, constants)
