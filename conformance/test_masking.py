"""MASK-01, MASK-02: variable-length input through a mask, given directly or produced upstream."""
import numpy as np
import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.conformance.grids import MASKS, case


@pytest.mark.clauses("MASK-01", "CALL-02")
@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("cells", ["simple", "gru", "lstm", "custom_multi"])
def test_masks_match_oracle(impl_target, oracle_target, mask, cells):
    ch.assert_conforms(impl_target, oracle_target, case(cells, "sequences_state", mask))


@pytest.mark.clauses("MASK-01")
def test_all_true_mask_equals_no_mask(impl_target):
    with_mask = ch.results(ch.outcome_of(impl_target, case("lstm", "sequences_state", "all_true")))
    seed = case("lstm", "sequences_state", "all_true")["seed"]
    without = ch.results(ch.outcome_of(impl_target, case("lstm", "sequences_state", seed=seed)))
    # To rounding: a compiler (XLA) may order the masked path's arithmetic otherwise (1 ulp apart).
    for got, want in zip(with_mask, without):
        ch.assert_close(got, want, case("lstm", "sequences_state"), "an all-true mask against no mask")


@pytest.mark.clauses("MASK-01")
def test_masked_steps_keep_the_state(impl_target):
    """A right-padded sample ends in the state of its last real timestep (GRU: state == output)."""
    padded = case("gru", "state", "right_padded")
    _, final_state = ch.results(ch.outcome_of(impl_target, padded))
    unmasked_sequence = ch.results(ch.outcome_of(impl_target, dict(padded, flags={"return_sequences": True},
                                                                   mask=None)))
    # Sample 1 is [1, 1, 1, 0, 0]: its state must be the unmasked run's output after step 3.
    np.testing.assert_allclose(final_state[1], np.asarray(unmasked_sequence)[1, 2], rtol=1e-6,
                               err_msg="masked timesteps must leave the state unchanged")


@pytest.mark.clauses("MASK-02", "MASK-01")
@pytest.mark.parametrize("cells", ["simple", "lstm"])
@pytest.mark.parametrize("flags", ["sequences_state", "backwards_sequences"])
def test_upstream_embedding_mask(impl_target, oracle_target, cells, flags):
    the_case = case(cells, flags, "right_padded", embedding={"vocab": 9}, features=[4])
    ch.assert_conforms(impl_target, oracle_target, the_case)


@pytest.mark.clauses("CALL-02", "MASK-01")
@pytest.mark.parametrize("flags", [{}, {"unroll": True}, {"unroll": True, "return_sequences": True}])
def test_a_wider_mask_broadcast_over_a_batch_of_one_fails_like_the_oracle(impl_target, oracle_target, flags):
    """A mask of batch 2 over an input of batch 1 broadcasts instead of failing (ERR-43 needs two
    batch sizes that do not broadcast); the oracle then fails later, writing the loop's outputs or
    inferring their static shape; not among error-paths.md's 47."""
    bad = {"cells": [{"kind": "simple", "units": 2}], "batch": 1, "timesteps": 3, "flags": flags,
           "mask": [[1, 1, 1], [1, 0, 1]]}
    ch.assert_conforms(impl_target, oracle_target, bad)


@pytest.mark.clauses("CELL-01", "CELL-04", "MASK-01")
@pytest.mark.parametrize("mask", [[[1, 1, 0], [1, 0, 0]], [[1, 1, 1], [1, 1, 1]]])
def test_a_cell_returning_too_few_states_under_a_mask_fails_like_the_oracle(impl_target, oracle_target, mask):
    """Unmasked this is ERR-45; masked, the oracle's loop fails comparing its states' structures
    instead (with an Embedding's mask)."""
    bad = {"cells": [{"kind": "custom", "variant": "few_states", "units": 2}], "batch": 2, "timesteps": 3,
           "mask": mask}
    ch.assert_conforms(impl_target, oracle_target, bad)
