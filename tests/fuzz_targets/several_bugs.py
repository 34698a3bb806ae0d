"""Four independent bugs at once, each also planted alone: GRUCell drops its recurrent bias
(gru_recurrent_bias_dropped), go_backwards returns the sequence in input order
(backwards_not_reversed), a stack returns its states nested per cell (stack_states_nested), and
reset_states states the wrong counts (reset_counts_swapped). A campaign must report each as a
discrepancy of its own."""
from rnnconf.impl import *  # noqa: F401,F403

from . import backwards_not_reversed, reset_counts_swapped, stack_states_nested
from .gru_recurrent_bias_dropped import GRUCell  # noqa: F401

SINGLE_BUG_TARGETS = ("gru_recurrent_bias_dropped", "backwards_not_reversed", "stack_states_nested",
                      "reset_counts_swapped")


class RNN(reset_counts_swapped.RNN, stack_states_nested.RNN, backwards_not_reversed.RNN):
    pass
