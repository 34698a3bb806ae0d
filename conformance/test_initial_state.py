"""CALL-04, INIT-01: `initial_state` in every form the oracle accepts and refuses.

The forms are engine/cases.py's INITIAL_STATE_FORMS (the case key `initial_state_form`): the
canonical list, tuples, a flat list, a bare tensor, and wrong ones (too few, too many, wrongly
nested). The page says "list of initial state tensors"; tf_keras 2.21 accepts more than that in
some places and less in others. EXPECTED is what it does, per form, layer and path: the oracle must
still do it (pinned here as test_errors.py pins the error paths), and the implementation must do
the same: the same results, or the same error class with a message stating the same facts.

Where it contradicts the page: DEV-empty-initial-state, DEV-stack-flat-initial-state,
DEV-initial-state-nesting-mask and DEV-stateful-initial-state (engine/deviations.py).
"""
import numpy as np
import pytest

from rnnconf.engine import error_catalog, execute
from rnnconf.conformance import helpers as ch
from rnnconf.engine.cases import INITIAL_STATE_FORMS
from rnnconf.conformance.grids import case

LAYERS = {  # one state; two states; a list of one cell; a stack with a two-state cell; one state per cell
    "simple": {"cells": [{"kind": "simple", "units": 3}]},
    "LSTM": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 3}]},
    "list_lstm": {"cells": [{"kind": "lstm", "units": 3}], "cell_list": True},
    "stack": {"cells": [{"kind": "simple", "units": 3}, {"kind": "lstm", "units": 2}], "cell_list": True},
    "stack_1state": {"cells": [{"kind": "gru", "units": 3}, {"kind": "simple", "units": 2}], "cell_list": True},
}
OUTPUTS = {"return_sequences": True, "return_state": True}
PATHS = {  # flags, mask, whether the layer is built by an earlier call
    "first": ({"return_state": True}, "none", False),
    "built": ({"return_state": True}, "none", True),
    "masked_backwards": (dict(OUTPUTS, go_backwards=True), "right_padded", False),
    "time_major_masked": (dict(OUTPUTS, time_major=True), "holes_and_empty_row", False),
    "unrolled_masked": (dict(OUTPUTS, unroll=True), "right_padded", False),
}
# What the oracle does, for the layers in LAYERS' order. ok: the canonical form's results; zeros: the
# results without initial_state; otherwise the error's ERR id (error_catalog.CATALOG) or other id
# (error_catalog.OTHER_ERRORS): not-a-tensor = state-not-a-tensor (a state nested one level too deep
# reaches the cell's matmul), nesting / seq-type = the masked loop's loop-nesting / loop-sequence-type.
_REFUSED_AT_BUILD = {form: "ERR-04 " * 5 for form in ("empty", "too_few", "too_many", "too_few_in_cell",
                                                       "too_many_in_cell")}
_FIRST = {
    "list": "ok ok ok ok ok",
    "tuple": "ok ok ok ok ok",
    "tuple_outer": "ok ok ok ok ok",
    "flat": "ok ok ERR-09 ERR-09 ok",          # DEV-stack-flat-initial-state
    "tensor": "ok ERR-04 ERR-04 ERR-04 ERR-04",
    "wrapped": "not-a-tensor not-a-tensor ok ok ok",
    "regrouped": "not-a-tensor not-a-tensor ok ok ok",
    **_REFUSED_AT_BUILD,
}
_MASKED = {  # the forms whose nesting differs from the canonical list's
    "tuple": "ok ok seq-type seq-type ok",     # DEV-initial-state-nesting-mask
    "flat": "ok ok ERR-09 ERR-09 ok",
    "wrapped": "not-a-tensor not-a-tensor ok nesting nesting",
    "regrouped": "not-a-tensor not-a-tensor nesting nesting nesting",
}
EXPECTED = {
    "first": _FIRST,
    "built": dict({form: row for form, row in _FIRST.items() if form != "list"}, **{
        "tensor": "ok ERR-09 ERR-45 ERR-09 ERR-09",
        "empty": "zeros zeros zeros zeros zeros",  # DEV-empty-initial-state
        "too_few": "zeros ERR-09 zeros ERR-09 ERR-09",
        "too_many": "ERR-09 ERR-09 ERR-09 ERR-09 ERR-09",
        "too_few_in_cell": "zeros ERR-09 ERR-45 ERR-45 ERR-09",
        "too_many_in_cell": "ERR-09 ERR-09 ERR-45 ERR-45 ERR-09",
    }),
    "masked_backwards": _MASKED,
    "time_major_masked": {form: _MASKED[form] for form in ("tuple", "wrapped")},
    "unrolled_masked": {"tuple": "ok ok ok ok ok", "wrapped": _FIRST["wrapped"], "regrouped": _FIRST["regrouped"]},
}
SHORT_IDS = {"not-a-tensor": "state-not-a-tensor", "nesting": "loop-nesting", "seq-type": "loop-sequence-type"}


def form_case(layer, path, form, initial_state=True):
    flags, mask, built = PATHS[path]
    the_case = case(LAYERS[layer]["cells"], flags, mask, **{k: v for k, v in LAYERS[layer].items() if k != "cells"})
    if form not in (None, "list"):
        the_case["initial_state_form"] = form
    if built:
        the_case["steps"] = [{"op": "call"}, {"op": "call", "initial_state": initial_state}]
    else:
        the_case["initial_state"] = initial_state
    return the_case


_REFERENCE_RESULTS = {}


def _oracle_leaves(oracle, layer, path, initial_state):
    """The oracle's last results, flattened, for the canonical form (or no initial_state)."""
    key = (oracle.name, layer, path, initial_state)
    if key not in _REFERENCE_RESULTS:
        outcome = execute.run(oracle, form_case(layer, path, None, initial_state))
        assert not ch.first_error(outcome), f"the canonical initial_state fails: {ch.first_error(outcome)}"
        _REFERENCE_RESULTS[key] = ch.flatten(outcome["steps"][-1]["result"])
    return _REFERENCE_RESULTS[key]


def error_id(error, the_case):
    return error_catalog.classify(error, the_case) or error_catalog.classify_other(error)


def check_oracle(oracle, expected, the_case, want, layer, path):
    error = ch.first_error(expected)
    if want in ("ok", "zeros"):
        assert error is None, f"{oracle.name} now refuses this form: {error['type']}: {error['message'][:300]}"
        same_as = _oracle_leaves(oracle, layer, path, want == "ok")
        leaves = ch.flatten(expected["steps"][-1]["result"])
        assert len(leaves) == len(same_as) and all(
            np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(leaves, same_as)), (
            f"{oracle.name}: accepted, but the results are not those of "
            + ("the canonical form" if want == "ok" else "a call without initial_state"))
        return
    want = SHORT_IDS.get(want, want)
    assert error is not None, f"{oracle.name} now accepts this form (it raised {want})"
    assert error_id(error, the_case) == want, (
        f"{oracle.name} raises another error than {want}: {error['type']}: {error['message'][:300]}")


def _params():
    for path, table in EXPECTED.items():
        for form, row in table.items():
            for layer, want in zip(LAYERS, row.split()):
                marks = [pytest.mark.clauses("CALL-04", "INIT-01")]
                if LAYERS[layer].get("cell_list"):
                    marks.append(pytest.mark.clauses("CELL-10"))
                if "masked" in path:
                    marks.append(pytest.mark.clauses("CALL-02", "MASK-01"))
                for flag, clause in (("go_backwards", "FLAG-03"), ("time_major", "FLAG-06"), ("unroll", "FLAG-05")):
                    if flag in PATHS[path][0]:
                        marks.append(pytest.mark.clauses(clause))
                if want.startswith("ERR-"):
                    marks.append(pytest.mark.clauses(want))
                yield pytest.param(layer, path, form, want, id=f"{path}-{layer}-{form}", marks=marks)


@pytest.mark.parametrize("layer, path, form, want", list(_params()))
def test_initial_state_form(impl_target, oracle_target, layer, path, form, want):
    """Each form on each layer and path: the oracle does what EXPECTED says (the canonical form's
    results where it accepts), and the implementation does the same, refusals with the same facts."""
    the_case = form_case(layer, path, form)
    expected, actual = ch.assert_conforms(impl_target, oracle_target, the_case)
    check_oracle(oracle_target, expected, the_case, want, layer, path)
    oracle_error, impl_error = ch.first_error(expected), ch.first_error(actual)
    if oracle_error is not None:
        ok, detail = error_catalog.facts_match(oracle_error, impl_error, error_id(oracle_error, the_case))
        assert ok, detail


@pytest.mark.clauses("CALL-04")
def test_the_table_has_every_form():
    """EXPECTED says what the oracle does with every form on a first call and on a built layer (the
    canonical list there is the rest of the suite's business), for every layer of LAYERS."""
    assert set(EXPECTED["first"]) == set(EXPECTED["built"]) | {"list"} == set(INITIAL_STATE_FORMS)
    assert all(len(row.split()) == len(LAYERS) for table in EXPECTED.values() for row in table.values())


# ---- valid forms with the other flags -----------------------------------------------------------
FLAG_SETS = ["sequences_state", "unroll_backwards", "time_major_backwards", "zero_mask_backwards"]


@pytest.mark.clauses("CALL-04", "INIT-01", "FLAG-03", "FLAG-07")
@pytest.mark.parametrize("form", ["tuple", "tuple_outer", "tensor"])
@pytest.mark.parametrize("layer", ["simple", "stack"])
@pytest.mark.parametrize("flags", FLAG_SETS)
def test_valid_forms_with_flags(impl_target, oracle_target, form, layer, flags):
    """The forms the page allows, with go_backwards, unroll, time_major and zero_output_for_mask (and
    a mask): the oracle's results, or its refusal (a bare tensor for several states, tuples for a
    stack under a mask)."""
    the_case = case(LAYERS[layer]["cells"], flags, "left_padded", cell_list=layer == "stack",
                    initial_state=True, initial_state_form=form)
    ch.assert_conforms(impl_target, oracle_target, the_case)


# ---- stateful layers ------------------------------------------------------------------------------
STATEFUL_STEPS = {
    # The first call uses the states it is given, in any form the oracle accepts.
    "first_call": [{"op": "call", "initial_state": True}, {"op": "call"}],
    # Once the states are non-zero, initial_state is ignored whatever its form (DEV-stateful-initial-state).
    "later_call": [{"op": "call"}, {"op": "call", "initial_state": True}, {"op": "states"}],
    # After reset_states() they are zero again: the form counts as on a built layer.
    "after_reset": [{"op": "call"}, {"op": "reset"}, {"op": "call", "initial_state": True}, {"op": "states"}],
}


@pytest.mark.clauses("CALL-04", "INIT-01", "FLAG-04", "STATE-02", "STATE-03", "CELL-10")
@pytest.mark.parametrize("form", ["tuple", "flat", "wrapped", "empty", "too_few_in_cell"])
@pytest.mark.parametrize("steps", sorted(STATEFUL_STEPS))
def test_stateful_forms(impl_target, oracle_target, form, steps):
    """A stateful stack given each form on its first call, on a later call (ignored once the states
    are non-zero) and after reset_states()."""
    the_case = case(LAYERS["stack"]["cells"], {"stateful": True, "return_state": True}, "none", cell_list=True,
                    steps=STATEFUL_STEPS[steps], initial_state_form=form)
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CALL-04", "INIT-01", "FLAG-04", "STATE-03", "ERR-41", "ERR-39")
@pytest.mark.parametrize("after", [
    pytest.param({"op": "reset"}, id="reset_states"),            # IndexError: the input_spec is empty
    pytest.param({"op": "call", "batch": 3}, id="other_batch"),  # no ERR-30: the batch meets the states
])
def test_empty_initial_state_empties_the_input_spec(impl_target, oracle_target, after):
    """DEV-empty-initial-state: `initial_state=[]` on a built stateful layer is ignored and leaves the
    layer without input checks, so reset_states() and a call with another batch fail as in the oracle."""
    steps = [{"op": "call"}, {"op": "call", "initial_state": True}, after]
    the_case = case("simple", {"stateful": True}, "none", batch=2, steps=steps, initial_state_form="empty")
    expected, _ = ch.assert_conforms(impl_target, oracle_target, the_case)
    error = ch.first_error(expected)
    assert error is not None and error_catalog.classify(error, the_case) == ("ERR-41" if after["op"] == "reset"
                                                                            else "ERR-39"), error
