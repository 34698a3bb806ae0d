"""Two independent bugs that meet in float64 cases: float64 results rounded to float32
(float64_rounded) and go_backwards returning the sequence in input order (backwards_not_reversed).
A go_backwards float64 case fails for both; without float64 it still fails for the second."""
from rnnconf.impl import *  # noqa: F401,F403

from . import backwards_not_reversed, float64_rounded


class RNN(float64_rounded.RNN, backwards_not_reversed.RNN):
    pass
