"""Known differences on the error paths: a direct error trigger's failure (judge.direct_failure) is
matched by an entry that names its path and asks for no rerun; Keras 3's and tfjs' entries for
ERR-13, ERR-18, ERR-32 and fractional units account for what those implementations do and not for
something else; facts read shapes as tfjs prints them."""
import os

import pytest

from rnnconf.adapters import namespaces
from rnnconf.conformance import error_triggers, test_errors
from rnnconf.engine import error_catalog, features, judge, known_differences

KERAS3 = known_differences.read(os.path.join(known_differences.HERE, "keras3.txt"))
TFJS = known_differences.read(os.path.join(known_differences.HERE, "tfjs.txt"))
URL = "https://example.org/doc"
ERR18 = {"type": "ValueError", "message": "batch_size and dtype cannot be None while constructing initial state. "
                                          "Received: batch_size=None, dtype=None", "stage": "call"}
ERR13 = {"type": "ValueError", "message": "If a RNN is stateful, it needs to know its batch size. Specify ...",
         "stage": "call"}
TOO_MANY = {"type": "TypeError", "message": "get_initial_state() takes from 1 to 2 positional arguments but 4 "
                                            "were given", "stage": "call"}
ON_GET_INITIAL_STATE = ("api:SimpleRNNCell.get_initial_state",)


def _entries(tmp_path, *lines):
    path = tmp_path / "known.txt"
    path.write_text("".join(f"{line}  {URL}  a note\n" for line in lines))
    return known_differences.read(str(path))


def _by_design(entries, err_id, oracle_error, impl_error, api):
    return known_differences.by_design(judge.direct_failure(err_id, oracle_error, impl_error, api), None, entries,
                                       None)


# ---- a direct trigger's failure -------------------------------------------------------------------------
def test_a_direct_trigger_failure_has_the_judges_error_wording():
    failed = judge.direct_failure("ERR-18", ERR18, TOO_MANY, ON_GET_INITIAL_STATE)
    assert failed["status"] == "fail"
    assert failed["fingerprint"] == {"kind": "error", "core": "oracle raises ERR-18, the implementation TypeError",
                                     "features": list(ON_GET_INITIAL_STATE), "trigger": "ERR-18"}
    assert judge.direct_failure("ERR-18", ERR18, None)["fingerprint"]["core"] == \
        "oracle raises ERR-18, the implementation nothing"
    other_facts = dict(ERR18, message=ERR18["message"].replace("batch_size=None", "batch_size=7"))
    assert judge.direct_failure("ERR-18", ERR18, other_facts)["fingerprint"]["core"] == "ERR-18 raised with other facts"
    assert judge.direct_failure("ERR-18", ERR18, dict(ERR18))["status"] == "pass"


def test_an_entry_naming_the_path_accounts_for_a_direct_trigger_failure(tmp_path):
    entries = _entries(tmp_path,
                       "fingerprint: error | oracle raises ERR-18, the implementation * | api:*.get_initial_state")
    verdict = _by_design(entries, "ERR-18", ERR18, TOO_MANY, ON_GET_INITIAL_STATE)
    assert verdict["status"] == known_differences.STATUS and verdict["difference"]["url"] == URL
    # Another path, or the same path reached through another API, is not this entry's.
    assert _by_design(entries, "ERR-13", ERR13, None, ON_GET_INITIAL_STATE)["status"] == "fail"
    assert _by_design(entries, "ERR-18", ERR18, TOO_MANY, ("api:SimpleRNN",))["status"] == "fail"


@pytest.mark.parametrize("line", [
    "fingerprint: error | oracle raises ERR-1*, the implementation * | api:*",   # no path named
    "fingerprint: error | * | api:*.get_initial_state",
    "fingerprint: error | oracle raises ERR-180, the implementation * |",
    # A check needs a rerun of a case; a direct trigger has none, so it cannot hold.
    "fingerprint: error | oracle raises ERR-18, the implementation * | api:* | without api:*",
    "fingerprint: error | oracle raises ERR-18, the implementation * | api:* | like without api:*",
])
def test_an_entry_that_does_not_name_the_path_or_asks_for_a_rerun_does_not_match(tmp_path, line):
    entries = _entries(tmp_path, line)
    assert _by_design(entries, "ERR-18", ERR18, TOO_MANY, ON_GET_INITIAL_STATE)["status"] == "fail"


# ---- Keras 3 ----------------------------------------------------------------------------------------------
def _direct(err_id, number):
    return [(trigger, stage, uses) for e, trigger, stage, uses in error_triggers.DIRECT if e == err_id][number - 1]


@pytest.mark.parametrize("err_id, number, url", [
    ("ERR-18", 1, "simple_rnn.py#L174-L177"),         # TypeError: get_initial_state(batch_size=None)
    ("ERR-18", 3, "stacked_rnn_cells.py#L62-L85"),    # nothing: the stack's compute dtype
    ("ERR-13", 1, "rnn.py#L325-L328"),                # nothing: reset_state before the first call
    ("ERR-32", 1, "variables.py#L620-L639"),          # ValueError: standardize_shape
])
def test_keras3_direct_triggers_differ_by_design(err_id, number, url):
    trigger, stage, uses = _direct(err_id, number)
    oracle_error = test_errors.error_of(trigger, namespaces.resolve("tf_keras"), stage)
    assert error_catalog.classify(oracle_error) == err_id
    impl_error = test_errors.error_of(trigger, namespaces.resolve("keras3"), stage)
    verdict = _by_design(KERAS3, err_id, oracle_error, impl_error, uses["features"])
    assert verdict["status"] == known_differences.STATUS, verdict
    assert verdict["difference"]["url"].endswith(url)
    # What the entry describes, and nothing else: another class (or nothing where Keras 3 raises) fails.
    other = None if impl_error else {"type": "AttributeError", "message": "no", "stage": stage}
    assert _by_design(KERAS3, err_id, oracle_error, other, uses["features"])["status"] == "fail"


def test_keras3_entry_for_err18_is_not_a_backend_refusing_a_missing_batch_size():
    """StackedRNNCells.get_initial_state() without a batch size: JAX, NumPy and torch refuse it in their
    `zeros` with TypeError, which no Keras 3 check says; the TypeError entry is the cell's signature only."""
    _, stage, uses = _direct("ERR-18", 2)
    too_few = {"type": "TypeError", "message": "Shapes must be 1D sequences of concrete values of integer type, "
                                               "got (None, 2).", "stage": stage}
    assert _by_design(KERAS3, "ERR-18", ERR18, too_few, uses["features"])["status"] == "fail"


def test_keras3_stateful_reset_before_the_first_call_is_the_err13_entry():
    """conformance/test_stateful.py::test_reset_states_before_the_batch_size_is_known, judged on Keras 3
    by the entry that also names the direct ERR-13 trigger."""
    case = {"cells": [{"kind": "simple", "units": 3}], "flags": {"stateful": True, "return_state": True},
            "steps": [{"op": "reset"}]}
    _, _, verdict = judge.run_and_judge(namespaces.resolve("keras3"), namespaces.resolve("tf_keras"), case,
                                        known=KERAS3)
    assert verdict["status"] == known_differences.STATUS, verdict
    assert verdict["difference"]["note"].startswith("reset_state() before the batch size is known")


# ---- fractional units -------------------------------------------------------------------------------------
def test_fractional_units_is_a_feature_that_rounding_takes_away():
    case = {"cells": [{"kind": "simple", "units": 2.5}, {"kind": "lstm", "units": 3}]}
    assert features.FRACTIONAL_UNITS in features.features(case)
    [rounded] = features.without_feature(case, features.FRACTIONAL_UNITS)
    assert [c["units"] for c in rounded["cells"]] == [2, 3]
    assert features.FRACTIONAL_UNITS not in features.features(rounded)
    assert [c["units"] for c in features.without_feature({"cells": [{"kind": "gru", "units": 0.4}]},
                                                         features.FRACTIONAL_UNITS)[0]["cells"]] == [1]
    for units in (2, 2.0, 0, None, "3"):
        assert features.FRACTIONAL_UNITS not in features.features({"cells": [{"kind": "simple", "units": units}]})


FRACTIONAL = [error_catalog.ERROR_CASES["ERR-36"]] + [c for e, c in error_catalog.ERROR_CASE_VARIANTS
                                                       if e == "ERR-36"] + [
    {"cells": [{"kind": "simple", "units": 2.5}], "flags": {"return_sequences": True}, "seed": 4}]


@pytest.mark.parametrize("case", FRACTIONAL, ids=["ERR-36-1", "ERR-36-2", "ERR-36-3", "fuzzed"])
def test_keras3_refuses_fractional_units_by_design_and_returning_values_still_fails(case):
    keras3, oracle = namespaces.resolve("keras3"), namespaces.resolve("tf_keras")
    expected, actual, verdict = judge.run_and_judge(keras3, oracle, case, known=KERAS3)
    assert verdict["status"] == known_differences.STATUS, verdict
    assert "ValueError" in verdict["fingerprint"]["core"]
    # An implementation that takes the units and returns values (here: Keras 3's own results with the
    # units rounded) is not what the entry describes.
    [rounded] = features.without_feature(case, features.FRACTIONAL_UNITS)
    _, values, _ = judge.run_and_judge(keras3, oracle, rounded)
    assert judge.first_error(values) is None and values["steps"]
    returned = judge.judge(case, expected, values, run_oracle=judge.oracle_runner(oracle), impl_has=keras3.has,
                           known=KERAS3, passes=lambda c: judge.run_and_judge(keras3, oracle, c)[2])
    assert returned["status"] == "fail", returned


def test_a_refusal_later_than_the_oracles_is_told_from_raising_nothing():
    """The oracle refuses units=0 when the layer is made (ERR-19); an implementation that refuses it
    only when it runs gets a core that says so. ERR-36 is given at build: the oracle's LSTM layer
    refuses units=2.5 when made, Keras 3 when built, and that is compared as the same path (its
    class, ValueError for TypeError, differs)."""
    case = {"cells": [{"kind": "simple", "units": 0}]}
    message = "Received an invalid value for argument `units`, expected a positive integer, got 0."
    made = {"error": {"type": "ValueError", "mro": ["ValueError", "Exception"], "message": message,
                      "stage": "construct"}}
    run = {"steps": [{"op": "call", "error": dict(made["error"], stage="step 0")}], "error": None}
    assert judge.judge(case, made, run)["fingerprint"]["core"] == "oracle raises ERR-19, the implementation ValueError later"
    case = error_catalog.ERROR_CASE_VARIANTS[[e for e, _ in error_catalog.ERROR_CASE_VARIANTS].index("ERR-36") + 1][1]
    assert case.get("layer") == "LSTM"
    _, _, verdict = judge.run_and_judge(namespaces.resolve("keras3"), namespaces.resolve("tf_keras"), case)
    assert verdict["fingerprint"]["core"] == "oracle raises ERR-36, the implementation ValueError"


def test_tfjs_entry_recognises_its_units_message_only():
    entry = next(e for e in TFJS if e.get("without") == features.FRACTIONAL_UNITS)
    said = judge.message_shape("Expected units to be a positive integer, but got 2.5.")
    fp = {"kind": "error", "core": f"the implementation raises Error ({said}), the oracle nothing",
          "features": ["cell:simple", features.FRACTIONAL_UNITS]}
    assert known_differences.matches(entry, fp)
    assert not known_differences.matches(entry, dict(fp, core="oracle raises ERR-36, the implementation nothing"))
    assert not known_differences.matches(entry, dict(fp, features=["cell:simple"]))


# ---- facts in tfjs' shape format --------------------------------------------------------------------------
ERR29 = {"type": "ValueError", "message": 'Input 0 of layer "rnn_3" is incompatible with the layer: expected '
                                          "shape=(None, None, 4), found shape=(2, 3, 5)"}
ERR30 = {"type": "ValueError", "message": 'Input 0 of layer "rnn_3" is incompatible with the layer: expected '
                                          "shape=(2, None, 4), found shape=(3, 3, 4)"}


def _tfjs(expected, found):
    return {"type": "ValueError", "message": f"Input 0 is incompatible with layer rnn_RNN1: expected shape={expected}, "
                                             f"found shape={found}."}


def test_facts_read_shapes_as_tfjs_prints_them():
    assert error_catalog.facts_match(ERR29, _tfjs(",,4", "2,3,5"), "ERR-29")[0]
    assert error_catalog.facts_match(ERR30, _tfjs("2,,4", "3,3,4"), "ERR-30")[0]


@pytest.mark.parametrize("err, err_id, expected, found", [
    (ERR29, "ERR-29", ",,5", "2,3,5"),     # another width
    (ERR29, "ERR-29", ",,4", "2,3,6"),
    (ERR29, "ERR-29", "1,,4", "2,3,5"),    # a batch where the oracle has None
    (ERR29, "ERR-29", ",4", "2,3,5"),      # another rank
    (ERR30, "ERR-30", "4,,4", "3,3,4"),    # another fixed batch
])
def test_facts_in_tfjs_format_still_tell_other_numbers(err, err_id, expected, found):
    assert not error_catalog.facts_match(err, _tfjs(expected, found), err_id)[0]


def test_tfjs_counts_a_stacks_flat_states_on_the_lstm_stack_trigger_only():
    """tfjs' "RNN Layer has 4 state(s)" for a stack of two LSTM cells is its flat list of states;
    the same count mismatch on a single SimpleRNN (Keras 2 and tfjs count alike there) still fails."""
    oracle = {"type": "ValueError", "message": "Layer has 2 states but was passed 3 initial states. Received: ...",
              "stage": "call"}
    tfjs = {"type": "ValueError", "message": "RNN Layer has 4 state(s) but was passed 3 initial state(s).",
            "stage": "call"}
    assert _by_design(TFJS, "ERR-09", oracle, tfjs, ("api:LSTMCell", "api:RNN"))["status"] == known_differences.STATUS
    assert _by_design(TFJS, "ERR-09", oracle, tfjs, ("api:SimpleRNN",))["status"] == "fail"
    stack_trigger = [uses for err_id, _, _, uses in error_triggers.DIRECT if err_id == "ERR-09"][-1]
    assert set(stack_trigger["features"]) == {"api:LSTMCell", "api:RNN"}
