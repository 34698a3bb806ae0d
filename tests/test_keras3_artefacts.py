"""Checks that are not the implementation's failures: an error stated in other words, a trigger that
is a real argument of the implementation, a feature it refuses, an oracle's own bug, and the
known differences of Keras 3 recognised as they really show, without hiding a real bug."""
from conformance import error_catalog, judge, namespaces

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
