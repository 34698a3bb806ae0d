"""Functions of a target that use its namespace directly (cells built by hand), for the suite's tests.

A plain module, without pytest: a target in another interpreter runs such a function whole in its own
worker (`target.call(function, ...)`), which imports this module there.
"""
import numpy as np

from rnnconf.engine import execute


def zero_states(target, cell_name, given):
    """A built-in cell's (or a stack's) get_initial_state, given the step inputs or batch_size/dtype:
    [shape, all zeros] per state, flattened."""
    ns = target.ns
    if cell_name == "StackedRNNCells":
        cell = ns.StackedRNNCells([ns.LSTMCell(3), ns.SimpleRNNCell(2)])
    elif cell_name == "AbstractRNNCell":  # a subclass that keeps the base class' get_initial_state
        class Cell(ns.AbstractRNNCell):
            state_size = output_size = 3

            def call(self, inputs, states):
                return states[0], states
        cell = Cell()
    else:
        cell = getattr(ns, cell_name)(3)
    x = target.to_native(np.ones((2, 4), "float32"))
    states = (cell.get_initial_state(inputs=x) if given == "inputs"
              else cell.get_initial_state(batch_size=2, dtype="float32"))
    flat = []

    def walk(s):
        if isinstance(s, (list, tuple)):
            for item in s:
                walk(item)
        else:
            flat.append(np.asarray(s))
    walk(states)
    return [(a.shape, bool(np.all(a == 0))) for a in flat]


def reused_outcome(target, case):
    """(outcome, path) of `case` on a layer an earlier call of the same structure built, called through
    the target's compiler where it has one (execute.Session, as the fuzzer reuses layers)."""
    session = execute.Session(target, compile_after=0)
    session.run(dict(case, seed=case["seed"] + 1))
    outcome = session.run(case)
    return outcome, session.last_path
