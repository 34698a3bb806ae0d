"""Recorded oracle deviations attach through the one judge: an implementation that does what the page
says inside a deviation is judged `oracle-deviation`, never `fail`; one that differs from both the
oracle and the page there, or differs outside the deviation's predicate or before the step it can
change, still fails (docs/verdicts.md)."""
import numpy as np
import pytest

from rnnconf.engine import deviations, execute, judge
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import normalize

from test_deviations import FOLLOW_CASES


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


def judged(oracle, case, actual):
    expected = execute.run(oracle, case)
    return judge.judge(case, expected, actual, run_oracle=lambda c: execute.run(oracle, c))


def shifted(outcome, by=0.25, from_step=0):
    """`outcome` with every result value of step `from_step` on moved by `by`: a wrong result."""
    def move(x):
        return [move(item) for item in x] if isinstance(x, list) else (np.asarray(x) + by).astype(np.asarray(x).dtype)
    steps = [dict(s, result=move(s["result"])) if i >= from_step and "result" in s else s
             for i, s in enumerate(outcome["steps"])]
    return dict(outcome, steps=steps)


def error_outcome(cls, steps=(), at=0):
    """An outcome whose step `at` raises `cls` after the results `steps` of the steps before it."""
    error = {"type": cls, "mro": [cls, "Exception"], "message": "refused", "stage": f"step {at}"}
    return {"steps": list(steps[:at]) + [{"op": "call", "error": error}], "error": None}


def page_outcome(oracle, dev, case):
    """What an implementation that follows the page computes: the oracle's outcome of the deviation's
    first page case, or the oracle's results up to the deviating step and then the error the page asks for."""
    page = dev["page_cases"](normalize(case))[0]
    if "raises" in page:
        at = dev.get("from_step", lambda c: 0)(case)
        cls = page["raises"] if isinstance(page["raises"], str) else "ValueError"
        return error_outcome(cls, execute.run(oracle, case)["steps"], at)
    return execute.run(oracle, page)


WITH_PAGE = [d["id"] for d in deviations.DEVIATIONS
             if "page_cases" in d and FOLLOW_CASES.get(d["id"]) and d["id"] != "DEV-fused-dropout-mask-per-step"]


@pytest.mark.parametrize("dev_id", WITH_PAGE)
def test_following_the_page_is_an_oracle_deviation_and_a_bug_beside_it_fails(oracle, dev_id):
    dev, case = deviations.BY_ID[dev_id], normalize(FOLLOW_CASES[dev_id])
    assert dev["applies"](case)
    follows_page = page_outcome(oracle, dev, case)
    j = judged(oracle, case, follows_page)
    assert j["status"] == "oracle-deviation" and j["deviation"] == dev_id, j["detail"]
    # Beside it: results that are neither the oracle's nor the page's.
    page = dev["page_cases"](case)[0]
    if page.get("raises") is True:  # the page wants an error of any class: wrong results instead
        wrong = shifted(execute.run(oracle, case))
    elif page.get("raises"):  # the page wants this class: another class instead
        wrong = error_outcome("TypeError", execute.run(oracle, case)["steps"], dev["from_step"](case))
    else:
        wrong = shifted(follows_page)
    failed = judged(oracle, case, wrong)
    assert failed["status"] == "fail", dev_id
    if "raises" not in page and judge.first_error(execute.run(oracle, case)):
        # The oracle raises there: the verdict says how the results differ from what the page says.
        assert dev_id in failed["detail"] and "against what the page says" in failed["detail"], failed["detail"]


@pytest.mark.parametrize("dev_id", ["DEV-stateful-initial-state", "DEV-empty-initial-state"])
def test_a_deviation_without_page_results_excuses_only_the_steps_it_can_change(oracle, dev_id):
    dev, case = deviations.BY_ID[dev_id], normalize(FOLLOW_CASES[dev_id])
    start = dev["from_step"](case)
    assert start == 1
    expected = execute.run(oracle, case)
    changed_there = judged(oracle, case, shifted(expected, from_step=start))
    assert changed_there["status"] == "oracle-deviation", changed_there["detail"]
    # The first call comes before the deviating one: a wrong first call is a failure of its own.
    assert judged(oracle, case, shifted(expected, from_step=0))["status"] == "fail"


def test_time_major_mask_with_as_many_timesteps_as_rows_is_read_transposed_by_the_page(oracle):
    dev = deviations.BY_ID["DEV-time-major-mask"]
    case = normalize(dict(FOLLOW_CASES["DEV-time-major-mask"], batch=4, timesteps=4,
                          mask=[[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]]))
    page = dev["page_cases"](case)[0]
    assert page["mask"][0] == [1, 1, 1, 1]  # the transposed mask
    assert judged(oracle, case, execute.run(oracle, page))["status"] == "oracle-deviation"
    # The page asks for results here, not an error: refusing it is a failure.
    assert judged(oracle, case, error_outcome("ValueError"))["status"] == "fail"


# Just outside each predicate: the same case without one of its conditions.
OUTSIDE = {
    "DEV-unroll-backwards-zero-mask": lambda c: dict(c, mask=None),
    "DEV-unroll-zero-mask-last-output": lambda c: dict(c, flags=dict(c["flags"], return_sequences=True)),
    "DEV-time-major-mask": lambda c: dict(c, mask=None),
    "DEV-zero-output-last-step": lambda c: dict(c, flags=dict(c["flags"], return_sequences=True)),
    "DEV-stateful-initial-state": lambda c: dict(c, steps=[{"op": "call", "initial_state": True}]),
    "DEV-empty-initial-state": lambda c: dict(c, steps=[{"op": "call", "initial_state": True}]),
    "DEV-stack-flat-initial-state": lambda c: dict(c, initial_state_form="list"),
    "DEV-initial-state-nesting-mask": lambda c: dict(c, mask=None),
    "DEV-err15-message": lambda c: dict(c, steps=[{"op": "call"}, {"op": "reset", "states": "wrong_count"}]),
}


@pytest.mark.parametrize("dev_id", sorted(OUTSIDE))
def test_a_wrong_result_just_outside_a_deviation_fails(oracle, dev_id):
    dev = deviations.BY_ID[dev_id]
    case = normalize(OUTSIDE[dev_id](normalize(FOLLOW_CASES[dev_id])))
    assert not any(d["applies"](case) for d in deviations.DEVIATIONS if d["id"] == dev_id)
    expected = execute.run(oracle, case)
    wrong = shifted(expected) if not judge.first_error(expected) else error_outcome("TypeError")
    assert judged(oracle, case, wrong)["status"] == "fail", dev_id


def test_deviations_no_judged_case_reaches_attach_nothing():
    # Reset arrays of another dtype and traced dropout: no case expresses them; every predicate says so.
    for dev_id in ("DEV-reset-states-dtype", "DEV-traced-dropout-mask-per-step"):
        applies = deviations.BY_ID[dev_id]["applies"]
        assert not any(applies(normalize(c)) for c in FOLLOW_CASES.values() if c), dev_id


FUSED_GRU = {"layer": "GRU", "cells": [{"kind": "gru", "units": 3, "dropout": 0.5}], "training": True,
             "batch": 2, "timesteps": 5, "features": [3], "flags": {"return_sequences": True}, "seed": 3}


def test_one_input_dropout_mask_per_call_in_fused_layers_is_an_oracle_deviation(oracle):
    """The planted target keeps one input mask per call in its GRU layer (the page; Keras 3): its
    distribution differs from the oracle's fused layer and matches the oracle's RNN(GRUCell)."""
    assert deviations.BY_ID["DEV-fused-dropout-mask-per-step"]["applies"](normalize(FUSED_GRU))
    page_follower = namespaces.resolve("tests.fuzz_targets.fused_dropout_one_mask")
    expected, actual, j = judge.run_and_judge(page_follower, oracle, FUSED_GRU)
    assert j["status"] == "oracle-deviation" and j["deviation"] == "DEV-fused-dropout-mask-per-step", j["detail"]
    # Against the oracle alone it is a distribution failure: the deviation's judgement is what passes it.
    assert judge.judge(FUSED_GRU, expected, actual, attach=False)["status"] == "fail"


def test_a_dropout_bug_in_a_fused_layer_still_fails(oracle):
    """Unscaled masks in the fused GRU: neither the oracle's distribution nor the page's."""
    _, _, j = judge.run_and_judge(namespaces.resolve("tests.fuzz_targets.dropout_no_scaling"), oracle, FUSED_GRU)
    assert j["status"] == "fail", j["detail"]


def test_any_form_that_leaves_no_state_is_inside_the_empty_initial_state_deviation():
    """One state fewer of a single-state cell, or of a one-cell stack, is `initial_state=[]` too; one
    fewer of an LSTM's two states is not."""
    dev = deviations.BY_ID["DEV-empty-initial-state"]
    steps = [{"op": "call"}, {"op": "call", "initial_state": True}]
    simple, lstm = [{"kind": "simple", "units": 2}], [{"kind": "lstm", "units": 2}]
    for cells, cell_list, form in ((simple, False, "empty"), (simple, False, "too_few_in_cell"),
                                   (lstm, True, "too_few")):
        case = normalize({"cells": cells, "cell_list": cell_list, "initial_state_form": form, "steps": steps})
        assert dev["applies"](case) and dev["from_step"](case) == 1, (cells, cell_list, form)
    assert not dev["applies"](normalize({"cells": lstm, "initial_state_form": "too_few", "steps": steps}))
