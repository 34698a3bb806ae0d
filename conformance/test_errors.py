"""ERR-01..ERR-47: the oracle's error paths (error-paths.md), one test per path.

Every test runs the path's trigger on the oracle and on the implementation and checks that
  - the oracle raises the documented class with a message error_catalog recognises as this path
    (this pins the oracle: a tf_keras release that changes a path fails here, not in the fuzzer);
  - the implementation raises the same class (compare.error_class_match: where the oracle's class is a
    TensorFlow runtime error, another framework's own refusal) and its message states the same facts
    (error_catalog.facts_match: facts, not wording; see that module's docstring), unless the oracle's
    message is a TensorFlow kernel's and the implementation's class is not TensorFlow's.
Triggers that fit a case are error_catalog.ERROR_CASES (the fuzzer samples them too); the others are
the direct calls of error_triggers.py, run through target.call. A path that needs a TensorFlow feature the implementation lacks
(error_catalog.FEATURES) is still run on the oracle, then skipped as "unsupported: ...".
A failure that one of the implementation's known differences (--known) names is differs-by-design,
a direct trigger's too (judge.direct_failure: its features are the trigger's API).
"""
import pytest

from rnnconf.engine import capabilities, compare, error_catalog, execute, judge, known_differences
from rnnconf.conformance import helpers as ch
from rnnconf.conformance.error_triggers import DIRECT, X
from rnnconf.engine.cases import normalize
from rnnconf.engine.error_catalog import CATALOG, ERROR_CASE_VARIANTS, ERROR_CASES


# ---- the checks --------------------------------------------------------------------------------
def _describe(error):
    return f"{error['type']}: {error['message'][:400]!r}" if error else "no error"


def check_oracle(err_id, oracle, error, case=None):
    entry = CATALOG[err_id]
    assert error, f"{oracle.name} raised nothing on the {err_id} trigger; error-paths.md says {entry['class']}"
    assert error_catalog.classify(error, case) == err_id, (
        f"{oracle.name}'s error on the {err_id} trigger is not the documented one "
        f"({entry['class']} matching {entry['pattern'].pattern!r}): {_describe(error)}")


def check_impl(err_id, impl, oracle_error, impl_error, replay, features=()):
    """The implementation's error on a trigger of path `err_id` (rnnconf.engine.judge.direct_failure),
    differs-by-design where one of its known differences (conftest's --known) names this failure;
    `features`: the failure's features (the trigger's API: error_triggers.direct)."""
    verdict = judge.direct_failure(err_id, oracle_error, impl_error, features)
    ch.skip_if_by_design(known_differences.by_design(verdict, None, ch.KNOWN, None))
    assert verdict["status"] == "pass", f"{impl.name}: {verdict['detail']}\n\n{replay}"


def skip_if_unsupported(err_id, impl, names=()):
    feature = CATALOG[err_id]["needs"]
    if not error_catalog.has_feature(impl, feature):
        pytest.skip(f"unsupported: {impl.name} lacks {feature} ({err_id})")
    for name in names:
        if not impl.has(name):
            pytest.skip(f"unsupported: {impl.name} lacks {name} ({err_id})")


# ---- triggers written as cases -------------------------------------------------------------------
def _case_params():
    items = list(ERROR_CASES.items()) + ERROR_CASE_VARIANTS
    seen = {}
    for err_id, case in items:
        seen[err_id] = seen.get(err_id, 0) + 1
        yield pytest.param(err_id, case, id=f"{err_id}-{seen[err_id]}", marks=pytest.mark.clauses(err_id))


@pytest.mark.parametrize("err_id, case", list(_case_params()))
def test_error_case(impl_target, oracle_target, err_id, case):
    expected = execute.run(oracle_target, case)
    check_oracle(err_id, oracle_target, ch.first_error(expected), case)
    names, _, _ = capabilities.features_used(case)
    skip_if_unsupported(err_id, impl_target, [n for n in names if n != "StackedRNNCells"])
    expected, actual, verdict = ch.run_pair(impl_target, oracle_target, case)
    if verdict["status"] == "unsupported":
        pytest.skip(f"unsupported: {impl_target.name} {verdict['detail']} ({err_id})")
    ch.skip_if_by_design(verdict)
    replay = "Reproduce with:\n" + ch.snippet(case, impl_target.name, oracle_target.name)
    assert verdict["status"] == "pass", (
        "\n".join(f"{m.kind} at step {m.step}: {m.detail}" for m in verdict["mismatches"]) or verdict["detail"]
    ) + "\n\n" + replay
    check_impl(err_id, impl_target, ch.first_error(expected), ch.first_error(actual), replay)


# ---- triggers that need direct calls (error_triggers.py) ------------------------------------------
def error_of(trigger, target, stage):
    return run_trigger(trigger, target, stage)[0]


def run_trigger(trigger, target, stage):
    """(error record or None, what the trigger returned): run where the target's namespace lives
    (target.call), in its worker for a target in another interpreter."""
    try:
        return None, target.call(trigger)
    except Exception as e:  # noqa: BLE001 - the error is what the test looks at
        return execute.describe_error(e, stage), None


def _direct_params():
    seen = {}
    for err_id, trigger, stage, uses in DIRECT:
        seen[err_id] = seen.get(err_id, 0) + 1
        yield pytest.param(err_id, trigger, stage, uses, id=f"{err_id}-direct-{seen[err_id]}",
                           marks=pytest.mark.clauses(err_id))


@pytest.mark.every_example  # each trigger takes milliseconds and reaches a `raise` of the oracle of its own
@pytest.mark.parametrize("err_id, trigger, stage, uses", list(_direct_params()))
def test_error_direct(impl_target, oracle_target, err_id, trigger, stage, uses):
    oracle_error = error_of(trigger, oracle_target, stage)
    check_oracle(err_id, oracle_target, oracle_error)
    skip_if_unsupported(err_id, impl_target, uses["names"])
    impl_error, accepted = run_trigger(trigger, impl_target, stage)
    if err_id in error_catalog.LIMITATIONS:
        judge_limitation(err_id, impl_target, oracle_target, impl_error, accepted, uses["legal"])
        return
    if impl_error:  # NotImplementedError, or a constructor argument it rejects by name (interfaces.md section 1)
        missing = capabilities.missing_feature(impl_target.has, {"flags": dict.fromkeys(uses["args"], True)}, impl_error)
        refused = impl_error["type"] == "NotImplementedError" != oracle_error["type"]
        if missing and (missing in uses["args"] or refused):
            pytest.skip(f"unsupported: {impl_target.name} lacks {missing} ({err_id})")
    replay = (f"Reproduce with: pytest conformance/test_errors.py -k {err_id} --impl {impl_target.name} "
              f"(the trigger is the @direct({err_id!r}) function of conformance/error_triggers.py)")
    check_impl(err_id, impl_target, oracle_error, impl_error, replay, uses["features"])


# The call arguments the direct triggers pass, as a case names them (capabilities.missing_feature).
TRIGGER_CALL_ARGS = {"constants": [[2]], "initial_state": True, "mask": [[1]], "training": True}


def judge_limitation(err_id, impl, oracle, impl_error, accepted, legal):
    """An oracle-limitation path (error_catalog.LIMITATIONS): refusing it passes, whatever the class;
    accepting it is `lenient` where the results are the oracle's for the legal equivalent, a failure
    where they differ, and inconclusive where they cannot be compared."""
    reason = error_catalog.LIMITATIONS[err_id]["reason"]
    if impl_error is not None:
        # A call argument refused by name (Keras 3: `constants`) is a feature it lacks, not a refusal of this path.
        missing = capabilities.missing_feature(impl.has, TRIGGER_CALL_ARGS, impl_error)
        if missing:
            pytest.skip(f"unsupported: {impl.name} lacks {missing} ({err_id})")
        return  # refused, as the oracle refuses it: the contract asks for no particular error here
    if legal is None or getattr(impl, "remote", False) or accepted is None:
        pytest.skip(f"inconclusive: {impl.name} accepts {err_id} (an oracle limitation: {reason}); what it "
                    "computes is not compared here")
    expected = oracle.call(legal)
    plain = {"timesteps": int(X.shape[1]), "cells": [{"kind": "simple", "units": 2}]}
    mismatches = [m for m in compare.compare({"steps": [{"result": expected}]}, {"steps": [{"result": accepted}]},
                                             normalize(plain)) if m.kind != "inconclusive"]
    assert not mismatches, (
        f"{impl.name} accepts {err_id}, which the oracle refuses for its own reasons ({reason}), but computes "
        f"something else than the oracle does for the legal equivalent: "
        + "; ".join(f"{m.kind} {m.path}: {m.detail}" for m in mismatches[:4]))
    ch.record_verdict("lenient", f"{impl.name} accepts {err_id} ({reason}) and computes what the oracle computes "
                                 "for the legal equivalent")


def test_every_error_path_has_a_trigger():
    covered = set(ERROR_CASES) | {err_id for err_id, *_ in DIRECT} | {err_id for err_id, _ in ERROR_CASE_VARIANTS}
    assert covered == set(CATALOG) == {f"ERR-{i:02d}" for i in range(1, 48)}


# ---- the catalog's own rules ------------------------------------------------------------------------
def test_facts_are_compared_on_content_not_wording():
    oracle = {"type": "ValueError", "message": "Layer has 1 states but was passed 2 initial states. Received: ..."}
    reworded = {"type": "ValueError", "message": "expected 1 states, got 2 initial states"}
    wrong = {"type": "ValueError", "message": "Layer has 2 states but was passed 3 initial states."}
    assert error_catalog.facts_match(oracle, reworded, "ERR-09")[0]
    assert not error_catalog.facts_match(oracle, wrong, "ERR-09")[0]
    shape = {"type": "ValueError", "message": "Shape (4, 2) must have rank at least 3"}
    assert error_catalog.facts_match(shape, {"type": "ValueError", "message": "rank < 3 for shape [4,2]"},
                                     "ERR-28")[0]
    assert not error_catalog.facts_match(shape, {"type": "ValueError", "message": "Shape (2, 4) must have "
                                                 "rank at least 3"}, "ERR-28")[0]


def test_shared_messages_are_told_apart():
    units = {"type": "ValueError", "message": "Received an invalid value for argument `units`, expected a "
                                              "positive integer, got 0."}
    assert error_catalog.classify(units, ERROR_CASES["ERR-20"]) == "ERR-20"
    assert error_catalog.classify(units, {"cells": [{"kind": "lstm", "units": 0}]}) == "ERR-21"
    spec = ("An `initial_state` was passed that is not compatible with `cell.state_size`. Received "
            "`state_spec`=[InputSpec(shape=(2, {w}), ndim=2)]; however `cell.state_size` is [2{more}]")
    assert error_catalog.classify({"type": "ValueError", "message": spec.format(w=5, more="")}) == "ERR-05"
    assert error_catalog.classify({"type": "ValueError", "message": spec.format(w=2, more=", 2")}) == "ERR-04"
    shapes = 'Input 0 of layer "rnn" is incompatible with the layer: expected shape={}, found shape={}'
    assert error_catalog.classify({"type": "ValueError", "message": shapes.format("(2, None, 4)", "(3, 3, 4)")}) \
        == "ERR-30"
    assert error_catalog.classify({"type": "ValueError", "message": shapes.format("(None, None, 4)", "(2, 3, 5)")}) \
        == "ERR-29"
    assert error_catalog.classify({"type": "ValueError", "message": "something else"}) is None
