"""engine/judge.py: the one judge, its fingerprints, and the accounting that follows from them
(inconclusive elements, unique result paths, errors compared by their facts, no false credit)."""
import json

import numpy as np
import pytest

from rnnconf.engine import compare, execute, judge
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import normalize
from rnnconf.engine.exercised import exercised
from rnnconf.engine.results import Results
from rnnconf.fuzz import logs

SIMPLE = {"cells": [{"kind": "simple", "units": 2}], "timesteps": 4}


def _outcome(*results):
    return {"steps": [{"op": "call", "result": r} for r in results], "error": None}


def _error(cls, message):
    return {"type": cls, "mro": [cls, "Exception", "BaseException", "object"], "message": message, "stage": "step 0"}


# ---- fingerprints ---------------------------------------------------------------------------------
def test_features_are_the_non_default_parts_of_a_case():
    case = {"cells": [{"kind": "gru", "units": 3, "reset_after": False, "activation": "tanh"},
                      {"kind": "custom", "variant": "minimal", "units": 2}],
            "flags": {"go_backwards": True, "unroll": False}, "mask": [[1, 0]], "dtype": "float64",
            "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}]}
    assert judge.features(case) == ["calls:several", "cell:custom-minimal", "cell:gru", "dtype:float64",
                                    "flag:go_backwards", "gru.reset_after=False", "mask", "reset:random", "stack"]
    assert judge.features(SIMPLE) == ["cell:simple"]


def test_a_known_discrepancy_explains_the_same_failure_in_a_case_with_all_its_features():
    known = {"kind": "value", "core": "output of the first call", "features": ["cell:gru", "flag:go_backwards"]}
    bigger = dict(known, features=["cell:gru", "flag:go_backwards", "mask"])
    assert judge.explains(known, bigger)
    assert not judge.explains(known, dict(bigger, features=["cell:gru", "mask"]))    # lacks a feature it needs
    assert not judge.explains(known, dict(bigger, core="state of the first call"))  # another result differs
    assert not judge.explains(known, dict(bigger, kind="shape"))
    # Shrinking keeps kind and core; the features may only shrink.
    assert judge.same_failure(bigger, known) and not judge.same_failure(known, dict(known, kind="dtype"))


def test_error_fingerprints_tell_who_raises_what():
    case = normalize({"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True},
                      "steps": [{"op": "call"}, {"op": "reset", "states": "wrong_count"}]})
    oracle_err = _error("ValueError", "Layer rnn expects 1 states, but it received 2 state values. States received: []")
    facts = _error("ValueError", "Layer rnn expects 2 states, but it received 1 state values. States received: []")
    other = _error("TypeError", "cannot reset")
    cores = set()
    for expected, actual in [(oracle_err, facts), (oracle_err, other), (oracle_err, None), (None, other)]:
        exp = {"steps": [{"op": "call", "result": np.zeros((2, 2))}] + ([{"op": "reset", "error": expected}]
                                                                          if expected else [{"op": "reset", "result": None}]),
               "error": None}
        act = {"steps": [{"op": "call", "result": np.zeros((2, 2))}] + ([{"op": "reset", "error": actual}]
                                                                          if actual else [{"op": "reset", "result": None}]),
               "error": None}
        j = judge.judge(case, exp, act)
        assert j["status"] == "fail" and j["kind"] == "error", j
        cores.add(j["fingerprint"]["core"])
    assert cores == {"ERR-14 raised with other facts", "oracle raises ERR-14, the implementation TypeError",
                     "oracle raises ERR-14, the implementation nothing",
                     "the implementation raises TypeError (cannot reset), the oracle nothing"}


def test_message_shape_blanks_the_values():
    assert (judge.message_shape("Layer has 2 states but was passed 3 initial states. Got [1, 2].")
            == judge.message_shape("Layer has 1 states but was passed 4 initial states. Got [5].")
            == "Layer has _ states but was passed _ initial states.")


# ---- comparison --------------------------------------------------------------------------------------
def test_result_paths_are_unique_in_nested_results():
    h, c, h2 = np.zeros((1, 2)), np.ones((1, 2)), np.full((1, 2), 2.0)
    paths = [p for p, _ in compare._leaves([[h, c], h2])]
    assert paths == ["output[0]", "output[1]", "state[0]"]
    assert [p for p, _ in compare._leaves([h, [h, c], [h2]])] == ["output", "state[0][0]", "state[0][1]",
                                                                  "state[1][0]"]
    assert compare._leaf_at(_outcome([[h, c], h2]), 0, "state[0]") is h2


def test_a_catalogued_error_with_other_facts_is_an_error_mismatch():
    case = normalize({"cells": [{"kind": "simple", "units": 0}]})
    expected = {"steps": [], "error": _error("ValueError", "Received an invalid value for argument `units`, "
                                                           "expected a positive integer, got 0.")}
    right = {"steps": [], "error": _error("ValueError", "units must be positive, got 0")}
    wrong = {"steps": [], "error": _error("ValueError", "units must be positive, got 1")}
    assert compare.compare(expected, right, case) == []
    (m,) = compare.compare(expected, wrong, case)
    assert m.kind == "error" and m.stats["err_id"] == "ERR-19" and "units" in m.detail


@pytest.mark.parametrize("distance, status", [(5e-4, "pass"), (2e-2, "inconclusive"), (0.3, "fail")])
def test_the_float32_recheck_has_a_ceiling(distance, status):
    """Probes that measure a chaotic case (sensitivity 0.01) would allow 0.16; the recheck passes only
    up to RECHECK_CEILING (relative to 1 + max|float64|), calls what lies between inconclusive, and
    anything beyond the measured allowance a failure."""
    case = normalize(SIMPLE)
    truth = np.array([[0.5, -1.0], [0.25, 0.8]])
    answers = {"float64": _outcome(truth), "perturbed": [_outcome(truth + 0.01), _outcome(truth)]}
    expected, actual = truth.astype(np.float32), (truth + distance).astype(np.float32)
    j = judge.judge(case, _outcome(expected), _outcome(actual))  # no recheck: plain bound
    assert j["status"] == "fail"
    mismatches = compare.compare(_outcome(expected), _outcome(actual), case, recheck_f64=lambda: answers)
    kinds = {m.kind for m in mismatches}
    assert kinds == {"pass": set(), "inconclusive": {"inconclusive"}, "fail": {"value"}}[status]


def test_inconclusive_is_its_own_status_never_a_pass():
    results = Results("x", "tf_keras")
    results.record(["FLAG-03"], inconclusive=True, count=3)
    results.record(["CALL-01"], inconclusive=True)
    results.record(["CALL-01"])
    data = results.to_dict()
    assert data["clauses"]["FLAG-03"]["status"] == "inconclusive"
    assert data["clauses"]["FLAG-03"]["inconclusive"] == 3
    assert data["clauses"]["CALL-01"]["status"] == "pass"


def test_a_flag_counts_for_its_clause_only_when_set():
    assert "FLAG-03" not in exercised({"flags": {"go_backwards": False}})
    assert "FLAG-03" in exercised({"flags": {"go_backwards": True}})


# ---- accounting ----------------------------------------------------------------------------------------
def test_a_failing_example_credits_no_clause(tmp_path):
    fp = {"kind": "value", "core": "output of the first call", "features": ["cell:gru", "flag:go_backwards"]}
    case = {"cells": [{"kind": "gru", "units": 2}], "flags": {"go_backwards": True}, "mask": [[1, 1, 1, 1]] * 2}
    clauses = exercised(case)
    records = [
        {"type": "discrepancy", "signature": judge.signature(fp), "fingerprint": fp, "kind": "value",
         "clauses": ["CELL-03", "FLAG-03"], "config": case, "original": case, "detail": "d", "mismatches": [],
         "side": "implementation", "t": 1.0},
        {"type": "example", "n": 1, "case": case, "clauses": clauses, "ok": False, "unsupported": False,
         "kind": "value", "side": "implementation", "seconds": {}, "fingerprint": fp},
    ]
    (tmp_path / "log-1-1-w1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    data = logs.aggregate(str(tmp_path), Results("x", "reference"))
    assert data["clauses"]["FLAG-03"]["failures"] == 1
    assert data["clauses"]["MASK-01"]["checks"] == 0, "the failing example's other clauses are not passed"
    assert data["clauses"]["MASK-01"]["status"] == "untested"
    assert data["fuzz_evidence"] == {"CELL-03": ["d-0001"], "FLAG-03": ["d-0001"]}


# ---- one judge for the suite, the fuzzer and the reproducers -----------------------------------------------
def test_the_reused_layer_history_is_replayed_by_warmup():
    """A layer that keeps its first mask: right on a fresh layer, wrong once reused; execute.run with
    `warmup` (the earlier case's data) replays it, so the judge sees what the fuzzer saw."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        buggy = namespaces.resolve("fuzz_targets.mask_cached_at_build")
    finally:
        sys.path.pop(0)
    reference = namespaces.resolve("reference")
    case = dict(SIMPLE, flags={"return_sequences": True}, mask=[[1, 1, 1, 1], [1, 0, 0, 0]], seed=2)
    earlier = {"seed": 1, "mask": [[1, 1, 0, 0], [1, 1, 1, 1]]}
    assert judge.run_and_judge(buggy, reference, case)[2]["status"] == "pass"
    _, actual, j = judge.run_and_judge(buggy, reference, dict(case, warmup=earlier))
    assert actual["reused"] == earlier
    assert j["status"] == "fail" and j["fingerprint"]["core"].endswith("(on a reused layer)")
    session = execute.Session(buggy, retry_eager_reuse=False)
    session.run(dict(case, seed=1, mask=earlier["mask"]))
    assert execute.has_error(session.run(case)) is False and session.last_path == "reused"


def test_a_known_value_failure_explains_the_same_results_distribution_failure():
    known = {"kind": "value", "core": "output of the first call", "features": ["cell:gru"]}
    stochastic = {"kind": "value", "core": "distribution of the output of the first call",
                  "features": ["cell:gru", "gru.dropout=0.5", "training=True"]}
    assert judge.explains(known, stochastic)
    assert not judge.explains(stochastic, dict(known, features=["cell:gru", "gru.dropout=0.5"]))


def test_a_known_wrong_first_call_explains_wrong_later_calls_not_the_reverse():
    first = {"kind": "value", "core": "output of the first call", "features": ["dtype:float64", "stack"]}
    later = {"kind": "value", "core": "state of a later call",
             "features": ["calls:several", "cell:gru", "dtype:float64", "stack"]}
    assert judge.explains(first, later)
    assert judge.explains(first, dict(later, core="distribution of the output of a later call"))
    assert not judge.explains(first, dict(later, features=["calls:several", "cell:gru", "dtype:float64"]))
    assert not judge.explains(dict(later, features=first["features"]), dict(first, features=later["features"]))
    assert not judge.explains(dict(first, kind="structure", core="nesting of the results of the first call"),
                              dict(later, kind="structure", core="nesting of the results of a later call"))


def test_an_implementation_refusing_a_feature_is_unsupported_even_where_the_oracle_also_raises():
    """The oracle refuses the case for one reason (an uncatalogued error), the implementation refuses
    `constants` by name: the classes agree, but nothing about constants was checked."""
    case = {"cells": [{"kind": "custom", "variant": "constants", "units": 2}], "constants": [[3]]}
    expected = {"steps": [{"op": "call", "error": {"type": "TypeError", "mro": ["TypeError", "Exception"],
                                                   "message": "The two structures don't have the same nested structure.",
                                                   "stage": "step 0"}}], "error": None}
    refused = {"steps": [{"op": "call", "error": {"type": "TypeError", "mro": ["TypeError", "Exception"],
                                                  "message": "call() got an unexpected keyword argument 'constants'",
                                                  "stage": "step 0"}}], "error": None}
    same = {"steps": [{"op": "call", "error": dict(expected["steps"][0]["error"])}], "error": None}
    assert judge.judge(case, expected, refused, impl_has=lambda name: True)["status"] == "unsupported"
    assert judge.judge(case, expected, same, impl_has=lambda name: True)["status"] == "pass"
