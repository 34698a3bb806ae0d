"""The fuzzer's generation stage: every drawn case is well formed, and the space is covered."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnconf.fuzz as fuzz  # noqa: F401 - registers the rnnconf-* profiles
from rnnconf.engine import capabilities, custom_cells, execute
from rnnconf.engine.cases import DEFAULTS, normalize
from rnnconf.fuzz import differential, strategies

CI = settings.get_profile("rnnconf-ci")


def _well_formed(case):
    assert set(case) <= set(DEFAULTS), f"unknown keys {set(case) - set(DEFAULTS)}"
    json.dumps(case)  # plain data: the log, results.json and reproducers need it
    c = normalize(case)
    hd = [cell for cell in c["cells"] if cell.get("variant") == "hd_state"]
    if hd:
        assert len(hd) == len(c["cells"]), "hd_state stacks only with hd_state cells"
        assert len(c["features"]) == 2
    if c["layer"] != "RNN":
        assert len(c["cells"]) == 1 and not c["cell_list"]
    if c["embedding"]:
        assert "time_major" not in c["flags"] and len(c["features"]) == 1
    if c["mask"] is not None:
        assert all(v in (0, 1) for row in c["mask"] for v in row)


@settings(CI, max_examples=150)
@given(strategies.valid_cases())
def test_valid_cases_are_well_formed(case):
    _well_formed(case)
    c = normalize(case)
    assert 1 <= c["batch"] <= 4 and 1 <= c["timesteps"] <= 8
    assert all(1 <= cell["units"] <= 5 for cell in c["cells"]) and 1 <= len(c["cells"]) <= 3
    if c["mask"] is not None:
        assert len(c["mask"]) == c["batch"] and all(len(r) == c["timesteps"] for r in c["mask"])
    constants_cells = [cell for cell in c["cells"] if cell.get("variant") == "constants"]
    if c["constants"]:
        assert constants_cells and c["constants"] == [[constants_cells[0]["units"]]]
    else:
        assert not constants_cells, "the constants cell always gets its constants"
    if any(s.get("op") != "call" or "batch" in s for s in c["steps"]):
        assert c["flags"].get("stateful"), "step sequences beyond calls are for stateful layers"


def _collect(strategy, n, seed_profile=CI):
    seen = []

    @settings(seed_profile, max_examples=n)
    @given(strategy)
    def collect(case):
        seen.append(case)

    collect()
    return seen


@pytest.fixture(scope="module")
def drawn():
    return [normalize(c) for c in _collect(strategies.cases(), 500)]


def test_the_space_is_covered(drawn):
    kinds = {c.get("variant", c["kind"]) for case in drawn for c in case["cells"]}
    assert {"simple", "gru", "lstm"} | set(custom_cells.VALID_VARIANTS) <= kinds
    assert {case.get("layer", "RNN") for case in drawn} >= {"RNN", "SimpleRNN", "GRU", "LSTM"}
    for name in strategies.FLAGS:
        values = {case.get("flags", {}).get(name, "omitted") for case in drawn}
        assert values >= {True, False, "omitted"}, f"{name}: {values}"
    for param in strategies.PARAMS:
        assert any(param in c for case in drawn for c in case["cells"]), param
    rows = [tuple(r) for case in drawn if case.get("mask") for r in case["mask"]]
    assert any(all(rows_) for rows_ in rows) and any(not any(r) for r in rows)
    assert any(r[0] == 0 and r[-1] == 1 for r in rows) and any(r[0] == 1 and r[-1] == 0 for r in rows)
    assert {case["timesteps"] for case in drawn} >= {1, 8}
    assert {case["dtype"] for case in drawn} == {"float32", "float64"}
    assert any(case.get("embedding") for case in drawn) and any(case.get("constants") for case in drawn)
    assert any(case.get("initial_state") for case in drawn)
    assert {case["training"] for case in drawn} == {True, False, None}
    assert any(len(case["cells"]) == 3 for case in drawn)
    steps = [s for case in drawn for s in case["steps"]]
    assert len({str(s.get("states")) for s in steps if s["op"] == "reset"}) >= 3
    assert any(s["op"] == "states" for s in steps) and any("batch" in s for s in steps)
    assert any(s.get("initial_state") for s in steps)


def test_invalid_configurations_come_at_a_steady_rate(drawn):
    # Invalid cases are those the strategies broke on purpose: find them by what only they contain.
    def broken(case):
        c = normalize(case)
        return (any(not isinstance(cell["units"], int) or cell["units"] < 1 for cell in c["cells"])
                or "not_a_flag" in c["flags"]
                or (c["mask"] is not None and (len(c["mask"]) != c["batch"]
                                               or any(len(r) != c["timesteps"] for r in c["mask"])))
                or any(cell.get("variant") in ("few_states", "bad_state", "needs_constants") for cell in c["cells"])
                or (c["constants"] and not any(cell.get("variant") == "constants" for cell in c["cells"]))
                or any(s.get("op") == "reset" for s in c["steps"]) and not c["flags"].get("stateful")
                or any("batch" in s or str(s.get("states")).startswith("wrong") or s.get("list_input")
                       for s in c["steps"])
                or not c["features"]
                or any(set(cell) - {"kind", "units", "variant"} - set(strategies.PARAMS) for cell in c["cells"]))
    rate = sum(map(broken, drawn)) / len(drawn)
    assert 0.03 <= rate <= 0.25, rate


def test_shrink_targets_are_the_simplest_configuration():
    # Hypothesis shrinks towards the first choice of every strategy, and tries that all-first
    # example before any other: it must be a small valid case.
    case = _collect(strategies.cases(), 1)[0]
    assert case["cells"] == [{"kind": "simple", "units": 2}]
    assert case["batch"] == 2 and case["timesteps"] == 3 and case["features"] == [3]
    assert not case.get("mask") and not case["flags"] and not case.get("cell_list")


def test_unsupported_is_a_refused_argument_or_a_missing_name():
    has = {"RNN", "SimpleRNNCell", "GRUCell", "LSTMCell", "Layer"}.__contains__
    case = normalize({"flags": {"time_major": True}})
    refused = {"type": "TypeError", "message": "RNN.__init__() got an unexpected keyword argument 'time_major'",
               "stage": "construct"}
    assert capabilities.missing_feature(has, case, refused) == "time_major"
    assert capabilities.missing_feature(has, case, dict(refused, stage="step 0")) is None  # not a constructor refusal
    keras3 = {"type": "ValueError", "stage": "construct",
              "message": "Unrecognized keyword arguments passed to RNN: {'time_major': True}"}
    assert capabilities.missing_feature(has, case, keras3) == "time_major"
    # An argument the case does not pass is no feature it uses: a stateful layer is built without
    # batch_input_shape where that is refused (tests/test_layer_construction.py).
    bis = dict(keras3, message="Unrecognized keyword arguments passed to RNN: {'batch_input_shape': (2, 3, 3)}")
    assert capabilities.missing_feature(has, normalize({"flags": {"stateful": True}}), bis) is None
    other = {"type": "TypeError", "message": "unexpected keyword argument 'foo'", "stage": "construct"}
    assert capabilities.missing_feature(has, case, other) is None
    constants = {"type": "TypeError", "message": "call() got an unexpected keyword argument 'constants'",
                 "stage": "step 0"}
    assert capabilities.missing_feature(has, normalize({"constants": [[3]]}), constants) == "constants"
    assert capabilities.missing_feature(has, normalize({"layer": "GRU", "cells": [{"kind": "gru", "units": 2}]}),
                                        None) == "GRU"

def test_the_stateful_machine_grows_step_sequences_and_shrinks_them():
    from hypothesis.stateful import run_state_machine_as_test

    from rnnconf.fuzz import machine
    seen = []

    class Differs(Exception):
        pass

    def examine(case):
        seen.append(json.loads(json.dumps(case)))
        c = normalize(case)
        assert c["flags"]["stateful"] and c["steps"][0] == {"op": "call"}
        # A pretend bug: the implementation goes wrong on the second call after a reset.
        ops = [s["op"] for s in c["steps"]]
        if "reset" in ops and ops[ops.index("reset"):].count("call") >= 1 and ops.count("call") >= 2:
            raise Differs(case)
        return {"ok": True, "oracle_error": False, "unsupported": False}

    with pytest.raises(Differs) as failure:
        # A small base strategy keeps this about the steps (the case strategies are tested above).
        bases = st.fixed_dictionaries({"cells": st.lists(strategies.flat_cells(), min_size=1, max_size=2),
                                       "flags": st.just({"stateful": True}), "steps": st.just([{"op": "call"}])})
        run_state_machine_as_test(machine.machine_for(examine, bases=bases),
                                  settings=settings(CI, max_examples=25, stateful_step_count=5))
    assert any(len(case["steps"]) >= 3 for case in seen)
    shrunk = failure.value.args[0]
    assert [s["op"] for s in shrunk["steps"]] == ["call", "reset", "call"], shrunk["steps"]
    assert shrunk["cells"] == [{"kind": "simple", "units": 2}]


def test_the_stateful_machine_stops_at_a_refused_step():
    """An unsupported verdict (a refused feature) ends a machine run as an error does: every longer
    sequence would repeat the refused step."""
    from hypothesis.stateful import run_state_machine_as_test

    from rnnconf.fuzz import machine
    seen = []

    def examine(case):
        steps = [s["op"] for s in normalize(case)["steps"]]
        seen.append(steps)
        return {"ok": True, "oracle_error": False, "unsupported": "reset" in steps}  # reset_states refused

    bases = st.fixed_dictionaries({"cells": st.just([{"kind": "simple", "units": 2}]),
                                   "flags": st.just({"stateful": True}), "steps": st.just([{"op": "call"}])})
    run_state_machine_as_test(machine.machine_for(examine, bases=bases),
                              settings=settings(CI, max_examples=30, stateful_step_count=5))
    # A run grows one step at a time: a sequence extending the one before it continues that run.
    continued = [(before, after) for before, after in zip(seen, seen[1:]) if after[:len(before)] == before]
    assert continued and any("reset" in steps for steps in seen)
    assert not any("reset" in before for before, _ in continued)


def test_variants_keep_the_structure_and_vary_seed_scale_and_mask():
    case = {"cells": [{"kind": "lstm", "units": 2}], "batch": 3, "timesteps": 4, "seed": 5,
            "mask": [[1, 1, 0, 0]] * 3}
    variants = differential.variants(case, 16)
    assert variants[0] == case
    assert len({execute.structure_key(normalize(v)) for v in variants}) == 1
    assert len({v["seed"] for v in variants}) == 16
    assert {v.get("weight_scale", 1.0) for v in variants[1:]} == set(differential.WEIGHT_SCALES)
    masks = {json.dumps(v["mask"]) for v in variants}
    assert len(masks) > 8 and all(len(v["mask"]) == 3 and len(v["mask"][0]) == 4 for v in variants)
    # The same drawn case gives the same variants: a failing one can be replayed while shrinking.
    assert differential.variants(case, 16) == variants
    # A mask of the wrong shape (an error path) is kept as drawn.
    wrong = dict(case, mask=[[1, 1, 1]] * 3)
    assert all(v["mask"] == wrong["mask"] for v in differential.variants(wrong, 4))


def test_variants_of_a_case_with_fixed_weights_vary_only_the_data():
    from rnnconf.engine.cases import inputs_for, part_weights
    case = {"cells": [{"kind": "gru", "units": 2}], "batch": 3, "timesteps": 4, "seed": 5, "weights_seed": 5,
            "weight_scale": 0.7, "mask": [[1, 1, 0, 0]] * 3}
    variants = [normalize(v) for v in differential.variants(case, 8)]
    specs = [[((3, 6), "float32"), ((2, 6), "float32"), ((2, 6), "float32")]]
    weights = [part_weights(specs, v) for v in variants]
    assert all(all(np.array_equal(a, b) for a, b in zip(w[0], weights[0][0])) for w in weights)
    assert {v["weight_scale"] for v in variants} == {0.7}
    assert len({inputs_for(v, 0).tobytes() for v in variants}) == 8
    assert len({json.dumps(v["mask"]) for v in variants}) > 1
    # Without weights_seed, each variant's weights come from its own seed.
    free = [normalize(v) for v in differential.variants(dict(case, weights_seed=None), 3)]
    assert not np.array_equal(part_weights(specs, free[0])[0][0], part_weights(specs, free[1])[0][0])
