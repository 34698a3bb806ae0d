"""CALL-03 with dropout cells: while training, dropout and recurrent_dropout act as the oracle's do.

Three kinds of check (engine/dropout.py):
  - distribution: dropout.SAMPLES runs of a case on each side, compared per element (and per change
    between steps and between batch rows) with a two-sample test whose false-alarm rate is at most
    1e-6 per case, whatever the outputs' distribution;
  - one mask per call: a metamorphic twin of the case whose outputs settle iff every timestep of a
    call uses the same masks, checked on the oracle (eager tf_keras, which this pins) and on the
    implementation; not for the built-in GRU and LSTM layers on tf_keras' fused path, which drop
    their inputs with a fresh mask at every timestep (dropout.probe_applies), checked by distribution;
  - no dropout unless training: with `training` False or not given, the results are the oracle's
    results without dropout.

Cases are small (batch 2, 4 steps, 3 features, 3 units) so that each costs well under a second on
the reference. Cells get a `seed` (a Keras 2 cell option) so that a failure replays.
"""
import pprint

import numpy as np
import pytest

from rnnconf.engine import capabilities, dropout, execute, judge
from rnnconf.conformance import helpers as ch
from rnnconf.engine.cases import minimal, normalize

SEQ = {"return_sequences": True}
SEQ_STATE = {"return_sequences": True, "return_state": True}
HOLES = [[1, 0, 1, 1], [0, 1, 1, 0]]


def cell(kind, dropout_rate=0.0, recurrent=0.0, units=3, seed=1, **options):
    out = {"kind": kind, "units": units, "seed": seed, **options}
    if dropout_rate:
        out["dropout"] = dropout_rate
    if recurrent:
        out["recurrent_dropout"] = recurrent
    return out


def layer_cell(kind, dropout_rate, recurrent, **options):
    """A built-in layer's cell options: no `seed`, which the oracle's layers refuse (ERR-37)."""
    return {k: v for k, v in cell(kind, dropout_rate, recurrent, **options).items() if k != "seed"}


def make(cells, flags=None, **overrides):
    out = {"cells": cells, "flags": dict(flags or {}), "batch": 2, "timesteps": 4, "features": [3],
           "training": True, "seed": 7}
    out.update(overrides)
    return normalize(out)


# name: (clauses, case). Each cell kind at both rates, both dropouts alone and together, each flag
# that changes how masks meet the loop.
DISTRIBUTION_CASES = {
    "simple_half": (("CALL-03", "CELL-03"), make([cell("simple", 0.5, 0.5)], SEQ_STATE)),
    "simple_layer_quarter": (("CALL-03", "CELL-03"),
                             make([layer_cell("simple", 0.25, 0.25)], SEQ, layer="SimpleRNN")),
    "gru_half": (("CALL-03", "CELL-03"), make([cell("gru", 0.5, 0.5)], SEQ)),
    "gru_reset_before_quarter": (("CALL-03", "CELL-03"),
                                 make([cell("gru", 0.25, 0.25, reset_after=False)], SEQ_STATE)),
    "gru_layer_recurrent": (("CALL-03", "CELL-03"), make([layer_cell("gru", 0.25, 0.5)], SEQ, layer="GRU")),
    "lstm_half": (("CALL-03", "CELL-04"), make([cell("lstm", 0.5, 0.5)], SEQ_STATE)),
    "lstm_quarter_per_gate": (("CALL-03", "CELL-04"), make([cell("lstm", 0.25, 0.25, implementation=1)], SEQ)),
    "lstm_recurrent_only": (("CALL-03", "CELL-04"), make([cell("lstm", 0.0, 0.5)], SEQ)),
    "lstm_layer_recurrent": (("CALL-03", "CELL-04"),
                             make([layer_cell("lstm", 0.5, 0.25)], {"return_state": True}, layer="LSTM")),
    "stack": (("CALL-03", "CELL-10"),
              make([cell("lstm", 0.25, seed=1), cell("gru", 0.0, 0.5, seed=2), cell("simple", 0.5, 0.25, seed=3)],
                   SEQ_STATE, cell_list=True)),
    "backwards_mask": (("CALL-03", "FLAG-03", "MASK-01"),
                       make([cell("gru", 0.5, 0.25)], dict(SEQ, go_backwards=True), mask=HOLES)),
    "mask_zero_output": (("CALL-03", "MASK-01", "FLAG-07"),
                         make([cell("lstm", 0.25, 0.5)], dict(SEQ, zero_output_for_mask=True), mask=HOLES)),
    "stateful": (("CALL-03", "FLAG-04", "STATE-02"),
                 make([cell("simple", 0.5, 0.5)], {"stateful": True, "return_state": True},
                      steps=[{"op": "call"}, {"op": "call"}, {"op": "reset"}, {"op": "call"}])),
    "time_major_unroll": (("CALL-03", "FLAG-05", "FLAG-06"),
                          make([cell("gru", 0.25, 0.5)], dict(SEQ, time_major=True, unroll=True))),
    "initial_state": (("CALL-03", "CALL-04"), make([cell("lstm", 0.5, 0.5)], SEQ, initial_state=True)),
    # Built-in GRU and LSTM layers without recurrent dropout: tf_keras' fused path, whose input mask
    # covers the whole input (a fresh mask at every timestep).
    "gru_layer_fused": (("CALL-03", "CELL-03"), make([layer_cell("gru", 0.5, 0.0)], SEQ_STATE, layer="GRU")),
    "lstm_layer_fused_time_major_mask": (("CALL-03", "CELL-04", "FLAG-06", "MASK-01"),
                                         make([layer_cell("lstm", 0.25, 0.0, implementation=1)],
                                              dict(SEQ, time_major=True), layer="LSTM", mask=HOLES)),
    "gru_layer_fused_stateful_backwards": (("CALL-03", "FLAG-03", "FLAG-04"),
                                           make([layer_cell("gru", 0.5, 0.0)],
                                                {"stateful": True, "go_backwards": True, "return_state": True},
                                                layer="GRU", steps=[{"op": "call"}, {"op": "call"}])),
}


def _reproducer(case, impl, oracle, what):
    return ("from rnnconf.engine import dropout; from rnnconf.adapters import namespaces\n"
            f"case = {pprint.pformat(minimal(case), width=100, sort_dicts=False)}\n"
            f"impl, oracle = namespaces.resolve({impl.name!r}), namespaces.resolve({oracle.name!r})\n" + what)


def _skip_if_unsupported(impl, case, error):
    missing = capabilities.missing_feature(impl.has, case, error)
    if missing:
        pytest.skip(f"unsupported: {impl.name} lacks {missing}")


def assert_same_distribution(impl, oracle, case):
    expected, actual = dropout.sample_pair(impl, oracle, case)
    mismatches = dropout.compare_samples(expected, actual, case)
    if mismatches:
        _skip_if_unsupported(impl, case, ch.first_error(actual))
        # A recorded deviation (with the page's distribution, sampled from the oracle) or a known
        # difference of the implementation may account for it: the one judge decides.
        verdict = judge.judge(case, expected, actual, run_oracle=judge.oracle_runner(oracle), impl_has=impl.has,
                              known=ch.KNOWN,
                              passes=lambda c: judge.run_and_judge(impl, oracle, c)[2])
        ch.skip_if_by_design(verdict)
        if verdict["status"] in judge.NOT_FAILING:
            ch.record_verdict(verdict["status"], f"{impl.name}: {verdict['detail']}")
        lines = [f"{m.kind} at step {m.step} {m.path}: {m.detail}" for m in mismatches[:8]]
        pytest.fail(f"{impl.name}'s dropout differs from {oracle.name}'s:\n  " + "\n  ".join(lines)
                    + "\n\nReproduce with:\n" + _reproducer(case, impl, oracle, (
                        "expected, actual = dropout.sample_pair(impl, oracle, case)\n"
                        "for m in dropout.compare_samples(expected, actual, case): print(m.detail)\n")),
                    pytrace=False)



@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.clauses(*clauses))
                                  for name, (clauses, _) in DISTRIBUTION_CASES.items()])
def test_dropout_distribution_while_training(impl_target, oracle_target, name):
    """While training, every result (outputs, states, each call of a stateful sequence) has the
    oracle's distribution over dropout masks: the rate, the 1/(1-rate) scaling, where input and
    recurrent masks apply, and masks drawn per sample and per call."""
    assert_same_distribution(impl_target, oracle_target, DISTRIBUTION_CASES[name][1])


# ---- one mask per call ----------------------------------------------------------------------------
SHARING_CASES = {
    "simple_input": (("CALL-03", "CELL-03"), make([cell("simple", 0.5)])),
    "simple_recurrent": (("CALL-03", "CELL-03"), make([cell("simple", 0.0, 0.5)])),
    "simple_layer": (("CALL-03", "CELL-03"), make([layer_cell("simple", 0.25, 0.5)], layer="SimpleRNN")),
    "gru": (("CALL-03", "CELL-03"), make([cell("gru", 0.5, 0.25)])),
    "gru_reset_before_per_gate": (("CALL-03", "CELL-03"),
                                  make([cell("gru", 0.25, 0.5, reset_after=False, implementation=1)])),
    "lstm": (("CALL-03", "CELL-04"), make([cell("lstm", 0.25, 0.5)])),
    "lstm_layer_recurrent": (("CALL-03", "CELL-04"), make([layer_cell("lstm", 0.5, 0.25)], layer="LSTM")),
    "stack": (("CALL-03", "CELL-10"),
              make([cell("gru", 0.5, seed=1), cell("lstm", 0.0, 0.5, seed=2)], cell_list=True)),
    "backwards_mask": (("CALL-03", "FLAG-03", "MASK-01"),
                       make([cell("lstm", 0.5, 0.5)], {"go_backwards": True}, mask=HOLES)),
    "stateful": (("CALL-03", "FLAG-04"), make([cell("gru", 0.5, 0.5)], {"stateful": True})),
    "unroll_time_major": (("CALL-03", "FLAG-05", "FLAG-06"),
                          make([cell("simple", 0.5, 0.5)], {"unroll": True, "time_major": True})),
}


def _violations(target, case, impl=None):
    found = dropout.shared_mask_violations(target, case)
    errors = [m for m in found if m.kind == "error"]
    if errors and impl is not None:
        _skip_if_unsupported(impl, case, errors[0].stats["actual"])
    return found


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.clauses(*clauses))
                                  for name, (clauses, _) in SHARING_CASES.items()])
def test_one_dropout_mask_per_call(impl_target, oracle_target, name):
    """Within one call every timestep uses the same input mask and the same recurrent mask (per cell
    of a stack, per batch row), whatever the direction, mask, unrolling or statefulness: with the
    same input at every step and a recurrence that forgets, the outputs settle to a fixed point.
    The oracle is probed too: eagerly, tf_keras caches each cell's masks for the call. (Its fused
    GRU and LSTM layers do not, so no case here takes that path.)"""
    case = SHARING_CASES[name][1]
    assert dropout.probe_applies(case)
    oracle_moves = _violations(oracle_target, case)
    assert not oracle_moves, f"the oracle itself: {oracle_moves[0].detail}"
    moves = _violations(impl_target, case, impl=impl_target)
    if moves:
        pytest.fail(f"{impl_target.name}: {moves[0].detail}\n\nReproduce with:\n" + _reproducer(
            case, impl_target, oracle_target,
            "for m in dropout.shared_mask_violations(impl, case): print(m.detail)\n"), pytrace=False)


# ---- no dropout unless training -------------------------------------------------------------------
NOT_TRAINING_CELLS = {
    "simple": (("CALL-03", "CELL-03"), [cell("simple", 0.5, 0.5)]),
    "gru": (("CALL-03", "CELL-03"), [cell("gru", 0.25, 0.5)]),
    "lstm": (("CALL-03", "CELL-04"), [cell("lstm", 0.5, 0.25)]),
    "stack": (("CALL-03", "CELL-10"),
              [cell("gru", 0.5, 0.5, reset_after=False, seed=1), cell("lstm", 0.25, 0.5, seed=2)]),
}


@pytest.mark.parametrize("training", [False, None])
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.clauses(*clauses))
                                  for name, (clauses, _) in NOT_TRAINING_CELLS.items()])
def test_no_dropout_unless_training(impl_target, oracle_target, name, training):
    """With `training` False, or not passed, dropout and recurrent_dropout do nothing: the results
    equal the oracle's results of the same layer without dropout, to compare.py's tolerance (and the
    oracle's own results with dropout equal them too)."""
    cells = NOT_TRAINING_CELLS[name][1]
    case = make(cells, SEQ_STATE, training=training, cell_list=len(cells) > 1, mask=HOLES)
    own = execute.run(oracle_target, case)
    plain = execute.run(oracle_target, dropout.dropout_free(case))
    assert not ch.first_error(own) and not ch.first_error(plain)
    for got, want in zip(ch.flatten(ch.results(own)), ch.flatten(ch.results(plain))):
        ch.assert_close(np.asarray(got), np.asarray(want), case, "the oracle with dropout but not training")
    mismatches = dropout.not_training_mismatches(impl_target, oracle_target, case)
    if mismatches:
        _skip_if_unsupported(impl_target, case, ch.first_error(execute.run(impl_target, case)))
        if ch.KNOWN:  # not training, the case is deterministic: the one judge says whether a known difference is all
            ch.skip_if_by_design(judge.run_and_judge(impl_target, oracle_target, case, known=ch.KNOWN)[2])
        lines = [f"{m.kind} at step {m.step} {m.path}: {m.detail}" for m in mismatches[:8]]
        # Not training, the case is deterministic: the judge's replay of it is this comparison.
        pytest.fail(f"{impl_target.name} with training={training} is not its dropout-free self:\n  "
                    + "\n  ".join(lines) + "\n\nReproduce with:\n"
                    + ch.snippet(case, impl_target.name, oracle_target.name), pytrace=False)
