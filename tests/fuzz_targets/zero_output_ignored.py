"""zero_output_for_mask is accepted and ignored: masked timesteps carry the previous output instead
of zeros (FLAG-07)."""
from rnnconf.impl import *  # noqa: F401,F403
from rnnconf.impl import RNN as _RNN


class RNN(_RNN):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.zero_output_for_mask = False
