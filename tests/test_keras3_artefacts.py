"""Checks that are not the implementation's failures: an error stated in other words, a trigger that
is a real argument of the implementation, a feature it refuses, an oracle's own bug, and the
known differences of Keras 3 recognised as they really show, without hiding a real bug."""
from pathlib import Path

import numpy as np

from conformance import error_catalog, judge, namespaces

TESTS = Path(__file__).parent

_ERR30_ORACLE = {"type": "ValueError", "message": 'Input 0 of layer "rnn" is incompatible with the layer: '
                                                  "expected shape=(2, None, 3), found shape=(3, 4, 3)"}
# Keras 3's words for the same facts (RNN.call, a stateful layer given another batch).
_ERR30_KERAS3 = ("If an RNN is stateful, the batch size of the input sequences must be the same as the batch size "
                 "of the initial state. \n- Expected batch size: {}\n- Received batch size: {}")


def test_err30_facts_are_the_batch_sizes_in_any_words_and_a_wrong_batch_still_fails():
    def match(message):
        return error_catalog.facts_match(_ERR30_ORACLE, {"type": "ValueError", "message": message}, "ERR-30")[0]
    assert match(_ERR30_KERAS3.format(2, 3))
    assert match('Input 0 of layer "x" is incompatible with the layer: expected shape=(2, None, 3), '
                 "found shape=(3, 4, 3)")
    assert not match(_ERR30_KERAS3.format(2, 4))      # another batch received
    assert not match(_ERR30_KERAS3.format(3, 2))      # the two batch sizes swapped
    assert not match('Input 0 of layer "x" is incompatible with the layer: expected shape=(None, None, 3), '
                     "found shape=(3, 4, 3)")         # same words, no fixed batch


def test_err37_trigger_is_an_argument_no_implementation_has():
    """ERR-37's trigger is unknown to the oracle, the reference and Keras 3 alike: Keras 3 refuses it
    (it has `seed`, the page's trigger, so that one would be read as a missing error)."""
    case = error_catalog.ERROR_CASES["ERR-37"]
    oracle = namespaces.resolve("tf_keras")
    for name in ("reference", "keras3"):
        expected, actual, j = judge.run_and_judge(namespaces.resolve(name), oracle, case)
        assert error_catalog.classify(judge.first_error(expected), case) == "ERR-37"
        assert judge.first_error(actual) is not None, f"{name} accepts ERR-37's trigger"
        assert j["status"] != "fail", (name, j["detail"])


def test_err47_needs_constants_which_keras3_refuses_and_tf_keras_takes():
    """ERR-47 (a list input whose constant is taken for a state) exists only where `constants` does:
    Keras 3 refuses the argument itself, so the path is unsupported there, not failed."""
    assert error_catalog.CATALOG["ERR-47"]["needs"] == "constants"
    assert not error_catalog.has_feature(namespaces.resolve("keras3"), "constants")
    assert error_catalog.has_feature(namespaces.resolve("reference"), "constants")
    assert error_catalog.has_feature(namespaces.resolve("tf_keras"), "constants")


def test_err43_direct_trigger_refused_for_time_major_is_unsupported_not_a_wrong_error():
    """Keras 3 refuses `time_major` when the ERR-43 trigger constructs its layer: a construction
    error naming the declared argument, so the path is unsupported there; tf_keras still raises ERR-43."""
    from conformance import capabilities, test_errors
    [(trigger, stage, uses)] = [(t, s, u) for err_id, t, s, u in test_errors.DIRECT if err_id == "ERR-43"]
    keras3 = namespaces.resolve("keras3")
    error, _ = test_errors.run_trigger(trigger, keras3, stage)
    assert error["stage"] == "construct", error
    assert capabilities.missing_feature(keras3.has, {"flags": dict.fromkeys(uses["args"], True)}, error) == "time_major"
    oracle_error = test_errors.error_of(trigger, namespaces.resolve("tf_keras"), stage)
    assert oracle_error["stage"] == stage and error_catalog.classify(oracle_error) == "ERR-43"


# ---- recorded oracle deviations reached by Keras 3 ----------------------------------------------------
# r-0013 of the Keras 3 sample, shrunk: unroll + zero_output_for_mask + a mask without
# return_sequences (the oracle raises: DEV-unroll-zero-mask-last-output) on a stack of cells whose
# state is 2-D, which Keras 3 refuses by design (its known difference) with or without unroll.
UNROLLED_ZERO_MASK_HD = {"cells": [{"kind": "custom", "variant": "hd_state", "units": 3},
                                   {"kind": "custom", "variant": "hd_state", "units": 2}],
                         "flags": {"unroll": True, "zero_output_for_mask": True}, "features": [2, 2],
                         "batch": 2, "timesteps": 3, "mask": [[1, 0, 0], [1, 1, 0]], "seed": 5}
# r-0014 of the sample: a one-LSTM stack given its states as a tuple under a mask, which the oracle's
# masked loop refuses (DEV-initial-state-nesting-mask); Keras 3's loop refuses it in the same words.
TUPLE_STATE_MASK = {"cells": [{"kind": "lstm", "units": 2}], "cell_list": True, "initial_state": True,
                    "initial_state_form": "tuple", "mask": [[1, 1, 0]], "batch": 1, "timesteps": 3, "seed": 2}


def _keras3_judged(case, known=True):
    from conformance import known_differences
    entries = known_differences.read(known_differences.target_file("keras3")) if known else None
    return judge.run_and_judge(namespaces.resolve("keras3"), namespaces.resolve("tf_keras"), case, known=entries)


def test_a_deviation_attaches_where_keras3_differs_from_the_page_only_by_its_known_difference():
    _, _, j = _keras3_judged(UNROLLED_ZERO_MASK_HD)
    assert j["status"] == "oracle-deviation" and j["deviation"] == "DEV-unroll-zero-mask-last-output", j["detail"]
    assert "rnn.py#L222-L226" in j["detail"]
    # Without the known differences nothing excuses Keras 3's refusal of the page's case.
    assert _keras3_judged(UNROLLED_ZERO_MASK_HD, known=False)[2]["status"] == "fail"


def test_a_real_bug_inside_a_deviation_still_fails():
    """The same deviation with a float64 stack of built-in cells: Keras 3 fails the page's case too
    (its float64 stack bug), which no known difference accounts for."""
    case = dict(UNROLLED_ZERO_MASK_HD, cells=[{"kind": "simple", "units": 3}, {"kind": "simple", "units": 2}],
                features=[2], dtype="float64")
    _, _, j = _keras3_judged(case)
    assert j["status"] == "fail", j["detail"]


def test_the_oracles_refusal_in_other_class_but_the_same_words_is_the_deviation():
    expected, actual, j = _keras3_judged(TUPLE_STATE_MASK)
    assert judge.first_error(expected)["type"] != judge.first_error(actual)["type"]
    assert j["status"] == "oracle-deviation" and j["deviation"] == "DEV-initial-state-nesting-mask", j["detail"]
    # Another refusal (other words) is no match of the oracle's: still a failure.
    other = dict(judge.first_error(actual), message="int() argument must be a string, not 'tuple'")
    wrong = dict(actual, steps=[{"op": "call", "error": other}])
    from conformance import execute
    oracle = namespaces.resolve("tf_keras")
    assert judge.judge(TUPLE_STATE_MASK, expected, wrong, run_oracle=lambda c: execute.run(oracle, c))["status"] == "fail"


class _InProcessWorker:
    """A fuzz worker stand-in: runs cases on an in-process target (what differential.judge asks of one)."""

    def __init__(self, name):
        from conformance import execute
        self.target, self.execute = namespaces.resolve(name), execute
        self.available = {n for n in ("Layer", "StackedRNNCells", "SimpleRNN", "GRU", "LSTM") if self.target.has(n)}

    def run(self, case, fresh=True):
        return ("ok", self.execute.run(self.target, case), 0.0, "fresh")


def test_the_fuzzer_attaches_the_deviation_through_the_known_difference_too():
    from conformance import known_differences
    from fuzz import differential
    oracle, impl = _InProcessWorker("tf_keras"), _InProcessWorker("keras3")
    known = known_differences.read(known_differences.target_file("keras3"))
    answers = oracle.run(UNROLLED_ZERO_MASK_HD), impl.run(UNROLLED_ZERO_MASK_HD)
    v = differential.judge(UNROLLED_ZERO_MASK_HD, *answers, oracle, impl, known=known)
    assert v["ok"] and v.get("named") == "oracle-deviation", v


def _suite_outcome(test, impl, *extra):
    """pytest's verbose output of one conformance test run against `impl` (the suite's own conftest;
    tests/ importable, for its planted-bug targets)."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-v", "-rs",
                          f"conformance/{test}", "--impl", impl, *extra], capture_output=True, text=True,
                         cwd=str(TESTS.parent), env=env)
    return out.stdout


def test_kept_states_test_judges_the_second_calls_initial_state_through_the_deviation():
    """Keras 3 differentiates the initial_state of a stateful layer's second call (it uses it, as the
    page says; the oracle ignores it): oracle-deviation, not a failure; the reference passes."""
    test = "test_gradients.py::test_kept_states_are_not_differentiated_or_trainable"
    keras3 = _suite_outcome(test, "keras3")
    assert "SKIPPED" in keras3 and "oracle-deviation: keras3: DEV-stateful-initial-state" in keras3, keras3[-1500:]
    assert " PASSED" in _suite_outcome(test, "reference")


def test_fused_gru_dropout_in_the_suite_is_the_recorded_deviation_and_a_dropout_bug_still_fails():
    """The sample's r-0019: Keras 3's GRU layer keeps one input dropout mask per call, as the page (and
    RNN(GRUCell)) does, where the oracle's fused layer draws one per timestep: the suite's distribution
    test judges it by DEV-fused-dropout-mask-per-step. A layer that leaves dropout unscaled still fails."""
    from conformance import known_differences
    test = "test_dropout.py::test_dropout_distribution_while_training[gru_layer_fused_stateful_backwards]"
    keras3 = _suite_outcome(test, "keras3")
    assert "oracle-deviation: keras3: DEV-fused-dropout-mask-per-step" in keras3, keras3[-1500:]
    # With Keras 3's known differences, its own entry (keras-team/keras#19993) is the word: its results
    # have the distribution of the oracle's RNN(GRUCell).
    known = _suite_outcome(test, "keras3", "--known", known_differences.target_file("keras3"))
    assert "differs-by-design" in known and "issues/19993" in known, known[-1500:]
    assert " FAILED" in _suite_outcome(test, "fuzz_targets.dropout_no_scaling")


# ---- known differences whose `without` case fails for another bug ----------------------------------------
def _failed(kind, core, *places):
    return {"status": "fail", "fingerprint": {"kind": kind, "core": core, "features": []},
            "mismatches": [{"kind": k, "step": step, "path": path} for k, step, path in places]}


def test_the_case_without_the_feature_must_not_show_this_failure_rather_than_pass():
    from conformance.known_differences import shows_failure
    error = {"kind": "error", "core": "the implementation raises TypeError (int_ argument), the oracle nothing"}
    # Another error (another bug, e.g. Keras 3's reset_state on a stack) does not block the entry ...
    assert not shows_failure(_failed("error", "the implementation raises AttributeError (_ has no _), the oracle "
                                              "nothing", ("error", 0, "step 0")), error)
    # ... the same error does, and so does a failure that cannot be told apart.
    assert shows_failure(_failed("error", error["core"], ("error", 0, "step 0")), error)
    assert shows_failure(False, error) and shows_failure({"status": "unsupported", "mismatches": []}, error)
    assert not shows_failure(True, error) and not shows_failure({"status": "oracle-deviation"}, error)
    value = {"kind": "value", "core": "distribution of the output of the first call"}
    at_output = [{"kind": "value", "step": 0, "path": "output"}]
    # A value failure without the feature at the same results is this one (a real bug would hide) ...
    assert shows_failure(_failed("value", "output of the first call", ("value", 0, "output")), value, at_output)
    # ... elsewhere it is another bug's; stopped at an error before those results, it cannot be told.
    assert not shows_failure(_failed("value", "state of a later call", ("value", 1, "state[0]")), value, at_output)
    assert shows_failure(_failed("error", "x", ("error", 0, "step 0")), value, at_output)


def test_a_known_difference_blocked_by_another_bug_of_keras3_is_recognised():
    """The sample's r-0009: a stateful stack of 2-D-state cells. Keras 3 refuses the cells (its known
    difference); without them the stack still fails, on its reset_state bug: another error, so the
    entry holds. Without the file it is a failure."""
    case = {"cells": [{"kind": "custom", "variant": "hd_state", "units": 2},
                      {"kind": "custom", "variant": "hd_state", "units": 2}], "flags": {"stateful": True},
            "features": [2, 3], "batch": 2, "timesteps": 3, "seed": 4}
    j = _keras3_judged(case)[2]
    assert j["status"] == "differs-by-design" and j["difference"]["url"].endswith("rnn.py#L222-L226"), j["detail"]
    assert _keras3_judged(case, known=False)[2]["status"] == "fail"


def test_nesting_by_design_is_told_by_shapes_where_another_bug_changes_the_values():
    """The sample's r-0034: a float64 stack with return_state. Its states nest per cell (by design),
    and its values are at float32 precision (Keras 3's float64 stack bug, which the case without
    return_state shows): the nesting is recognised on the arrays' shapes and order. A lost state is not."""
    from conformance import known_differences
    from conformance.cases import normalize
    [entry] = [e for e in known_differences.read(known_differences.target_file("keras3")) if e.get("same_leaves")]
    case = normalize({"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}],
                      "flags": {"return_state": True}, "dtype": "float64", "seed": 1})
    fp = {"kind": "structure", "core": "nesting of the results of the first call",
          "features": ["cell:lstm", "cell:simple", "dtype:float64", "flag:return_state", "stack"]}
    out, h1, h2, c2 = (np.full((2, n), v) for n, v in ((3, .1), (2, .2), (3, .3), (3, .4)))
    oracle = {"steps": [{"op": "call", "result": [out, h1, [h2, c2]]}]}
    renested_off = {"steps": [{"op": "call", "result": [out + 1e-7, [h1 + 1e-7], [h2, c2]]}]}
    lost = {"steps": [{"op": "call", "result": [out + 1e-7, [h2, c2]]}]}
    mismatches = [{"kind": "structure", "step": 0, "path": "result"}]
    values_bug = _failed("value", "output of the first call", ("value", 0, "output"))
    assert known_differences.recognise([entry], case, fp, lambda c: values_bug, (oracle, renested_off),
                                       mismatches) is entry
    assert known_differences.recognise([entry], case, fp, lambda c: values_bug, (oracle, lost), mismatches) is None
    # Values that differ while the case without return_state passes: a real bug, not hidden.
    assert known_differences.recognise([entry], case, fp, lambda c: True, (oracle, renested_off), mismatches) is None
