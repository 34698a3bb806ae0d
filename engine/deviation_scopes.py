"""Which cases lie inside each of the oracle's deviations (deviations.py): predicates over normalized cases
and outcomes, and the cases whose oracle outcome is what the API page says instead."""
from .cases import flag, passes_no_states


# ---- which cases lie inside a deviation --------------------------------------------------------------
def _masked(case):
    return case["mask"] is not None or bool(case["embedding"])


def _without_flag(case, name):
    return dict(case, flags={k: v for k, v in case["flags"].items() if k != name})


def _raises(outcome):
    return bool(outcome.get("error") or any("error" in s for s in outcome.get("steps", [])))


def _forms(case):
    """The initial_state form of every call step that passes initial states, by step index."""
    out = {}
    for i, step in enumerate(case["steps"] or [{"op": "call"}]):
        if step.get("op", "call") == "call" and step.get("initial_state", case["initial_state"]):
            out[i] = step.get("initial_state_form", case.get("initial_state_form")) or "list"
    return out


def _with_form(case, form):
    steps = [dict(s, initial_state_form=form) if "initial_state_form" in s else s for s in case["steps"]]
    return dict(case, initial_state_form=form, steps=steps)


def _several_state_cell(case):
    return any(c["kind"] == "lstm" or c.get("variant") in ("multi_state", "multi_no_out") for c in case["cells"])


def _stateful_initial_state_step(case):
    """The first call step that passes initial_state to a stateful layer whose recorded states may be
    non-zero: an earlier call, or a reset to given states, since construction or the last reset to zeros."""
    if not flag(case, "stateful"):
        return None
    dirty = False
    for i, step in enumerate(case["steps"] or [{"op": "call"}]):
        op = step.get("op", "call")
        if op == "reset":
            dirty = bool(step.get("states"))
        elif op == "call":
            if dirty and step.get("initial_state", case["initial_state"]):
                return i
            dirty = True
    return None


def _empty_on_built_layer_step(case):
    """The first call step after the first that passes initial_state=[] (the `empty` form, or a form
    that leaves nothing: cases.passes_no_states)."""
    calls = [i for i, s in enumerate(case["steps"] or [{"op": "call"}]) if s.get("op", "call") == "call"]
    return next((i for i, form in _forms(case).items()
                 if calls and i != calls[0] and passes_no_states(case, form)), None)


def _wrong_batch_reset_step(case):
    return next((i for i, s in enumerate(case["steps"]) if s.get("op") == "reset" and s.get("states") == "wrong_batch"),
                None)


def _time_major_mask_page(case):
    # Both sides get the mask as [timesteps, batch] (cases.mask_for). Read as the page's [batch,
    # timesteps] it is a shape error unless batch == timesteps; then it is the transposed mask.
    if case["batch"] != case["timesteps"]:
        return [{"raises": True}]
    return [dict(case, mask=[list(row) for row in zip(*case["mask"])])]


def _fused_dropout_page(case):
    # The cell's own loop: RNN(GRUCell(...)) with the same arguments and weights keeps one mask per call.
    return [dict(case, layer="RNN", cell_list=False)]


def _float32_rounded_input_gradient(mismatches):
    """Whether every mismatch is a value of the input's gradient within float32 rounding."""
    return bool(mismatches) and all(
        m.kind == "value" and m.path == "d inputs"
        and (m.stats.get("max_rel", 1.0) <= 1e-5 or m.stats.get("max_abs", 1.0) <= 1e-6) for m in mismatches)
