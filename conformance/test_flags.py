"""FLAG-01..FLAG-07: every constructor flag, against the oracle and against the page's own promises."""
import numpy as np
import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.conformance import grids
from rnnconf.conformance.grids import FLAG_SETS, MASKS, case
from rnnconf.engine.schema import FLAG_CLAUSES



def _grid():  # every flag set with every cell and mask, each in both dtypes (see tests/test_grids.py)
    for row in grids.flag_grid():
        cells, flags, mask, dtype = row["cells"], row["flags"], row["mask"], row["dtype"]
        clauses = sorted({FLAG_CLAUSES[f] for f in FLAG_SETS[flags]} | ({"CALL-02", "MASK-01"} if mask != "none" else set())
                         | ({"CELL-10"} if cells.startswith("stack") else set()))
        yield pytest.param(case(cells, flags, mask, dtype=dtype), id=f"{cells}-{flags}-{mask}-{dtype}",
                           marks=pytest.mark.clauses(*clauses) if clauses else pytest.mark.clauses("CALL-01"))


@pytest.mark.parametrize("the_case", list(_grid()))
def test_flags_match_oracle(impl_target, oracle_target, the_case):
    ch.assert_conforms(impl_target, oracle_target, the_case)


# ---- the page's promises, checked on the implementation alone ------------------------------------
def _run(target, **kw):
    return ch.results(ch.outcome_of(target, case(**kw)))


@pytest.mark.clauses("FLAG-01")
@pytest.mark.parametrize("cells", ["simple", "lstm"])
def test_last_output_is_last_of_sequence(impl_target, cells):
    seq = _run(impl_target, cells=cells, flags="sequences")
    last = _run(impl_target, cells=cells)
    ch.assert_close(last, np.asarray(seq)[:, -1], case(), "last output vs sequence[:, -1]")


@pytest.mark.clauses("FLAG-02", "SHAPE-02")
def test_return_state_gives_last_states(impl_target):
    out, h, c = _run(impl_target, cells="lstm", flags="sequences_state")
    assert np.asarray(h).shape == np.asarray(c).shape == (3, 3)
    ch.assert_close(h, np.asarray(out)[:, -1], case(), "LSTM h state vs last output")


@pytest.mark.clauses("FLAG-03")
@pytest.mark.parametrize("cells", ["simple", "gru", "lstm"])
def test_go_backwards_equals_reversed_input(impl_target, cells):
    backwards = ch.outcome_of(impl_target, case(cells, "backwards_sequences"))
    forwards_case = case(cells, "sequences_state", reverse_inputs=True)  # same seed: same weights and inputs
    forwards = ch.outcome_of(impl_target, forwards_case)
    for got, want in zip(ch.results(backwards), ch.results(forwards)):
        ch.assert_close(got, want, forwards_case, "go_backwards vs forward pass on reversed input")


@pytest.mark.clauses("FLAG-05")
@pytest.mark.parametrize("cells", ["simple", "gru", "lstm", "stack_mixed"])
@pytest.mark.parametrize("mask", ["none", "right_padded", "holes_and_empty_row"])
def test_unroll_matches_loop(impl_target, cells, mask):
    loop = ch.results(ch.outcome_of(impl_target, case(cells, "backwards_sequences", mask)))
    unrolled = ch.results(ch.outcome_of(impl_target, case(cells, {"unroll": True, **FLAG_SETS["backwards_sequences"]},
                                                          mask)))
    for got, want in zip(ch.flatten(unrolled), ch.flatten(loop)):
        ch.assert_close(got, want, case(), "unroll=True vs unroll=False")


@pytest.mark.clauses("FLAG-06", "SHAPE-03")
@pytest.mark.parametrize("cells", ["simple", "lstm"])
def test_time_major_is_a_transpose(impl_target, cells):
    base = case(cells, "sequences_state", "right_padded")
    batch_major = ch.results(ch.outcome_of(impl_target, base))
    time_major = ch.results(ch.outcome_of(impl_target, dict(base, flags={**base["flags"], "time_major": True})))
    ch.assert_close(time_major[0], np.swapaxes(batch_major[0], 0, 1), base, "time-major sequence")
    for got, want in zip(time_major[1:], batch_major[1:]):
        ch.assert_close(got, want, base, "time-major states")


@pytest.mark.clauses("FLAG-07", "MASK-01")
@pytest.mark.parametrize("cells", ["simple", "lstm"])
def test_zero_output_for_mask_zeroes_masked_steps(impl_target, cells):
    the_case = case(cells, "zero_mask", "holes_and_empty_row")
    out = np.asarray(ch.results(ch.outcome_of(impl_target, the_case)))
    masked = ~np.asarray(MASKS["holes_and_empty_row"], bool)
    assert np.all(out[masked] == 0), "masked timesteps must output zeros"
    assert np.all(np.abs(out[~masked]).sum(axis=-1) > 0), "unmasked timesteps must not be zeroed"


@pytest.mark.clauses("FLAG-07", "MASK-01")
def test_masked_steps_repeat_previous_output_by_default(impl_target):
    out = np.asarray(ch.results(ch.outcome_of(impl_target, case("gru", "sequences", "holes_and_empty_row"))))
    mask = np.asarray(MASKS["holes_and_empty_row"], bool)
    for b, t in zip(*np.nonzero(~mask)):
        previous = out[b, t - 1] if t > 0 else np.zeros_like(out[b, t])
        np.testing.assert_array_equal(out[b, t], previous, err_msg=f"masked step ({b}, {t}) must carry the output")
