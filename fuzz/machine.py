"""Stateful campaigns: a RuleBasedStateMachine that drives a stateful layer step by step.

The machine's state is a case whose `steps` grow one rule at a time (call, reset with zeros, arrays
or wrong arrays, call with an initial_state, call with another batch, read the states). After each
rule the case so far is run on both sides and compared (differential.check through the campaign's
`examine`), so a discrepancy is reported at the first step that differs, and Hypothesis shrinks the
rule sequence. Re-running the prefix keeps every step plain data: the failing machine run *is* a
case, and its reproducer is the same as any other case's.
"""
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from . import strategies

RESETS = [None, "random", "wrong_count", "wrong_batch", "wrong_width"]
# What every machine's layer uses (rnnconf.engine.capabilities.features_used of a stateful case): an
# implementation refusing one of them refuses every machine (fuzz.refusals).
FEATURES = ("stateful",)


@st.composite
def stateful_bases(draw):
    """A valid case made stateful, with one call as its first step."""
    case = draw(strategies.valid_cases(), label="base case")
    case["flags"] = dict(case["flags"], stateful=True)
    # time_major stays with drawn cases: an implementation refusing it (Keras 3) would refuse the machine.
    case["flags"].pop("time_major", None)
    case.pop("embedding", None)
    case["steps"] = [{"op": "call"}]
    return case


def machine_for(examine, max_steps=5, bases=None):
    """A machine class whose every step is checked by `examine(case)` (which raises on a discrepancy);
    `bases` draws the stateful case it starts from (default: stateful_bases())."""
    bases = bases if bases is not None else stateful_bases()

    class StatefulLayer(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.case = None
            self.stopped = False

        def _step(self, step):
            self.case["steps"] = self.case["steps"] + [step]
            self._check()

        def _check(self):
            v = examine(self.case)
            # Execution stops at the first error, and a refused step stays refused with more steps after
            # it: later steps would add nothing.
            self.stopped = bool(v is None or v["oracle_error"] or not v["ok"] or v["unsupported"])

        def _room(self):
            return self.case is not None and not self.stopped and len(self.case["steps"]) < max_steps

        @initialize(case=bases)
        def start(self, case):
            self.case = case
            self._check()

        @precondition(lambda self: self._room())
        @rule()
        def call(self):
            self._step({"op": "call"})

        @precondition(lambda self: self._room())
        @rule(states=st.sampled_from(RESETS))
        def reset(self, states):
            self._step({"op": "reset"} if states is None else {"op": "reset", "states": states})

        @precondition(lambda self: self._room())
        @rule()
        def call_with_initial_state(self):
            self._step({"op": "call", "initial_state": True})

        @precondition(lambda self: self._room())
        @rule(batch=st.sampled_from([1, 3, 2]))
        def call_with_other_batch(self, batch):
            self._step({"op": "call", "batch": batch})

        @precondition(lambda self: self._room())
        @rule()
        def read_states(self):
            self._step({"op": "states"})

        @precondition(lambda self: self.case is not None and not self._room())
        @rule()
        def done(self):
            """Nothing left to check (an error stopped execution, or the run is long enough)."""

    return StatefulLayer
