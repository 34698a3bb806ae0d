"""Named building blocks for the suite's case grids: cells, flag sets, masks (batch 3, timesteps 5)."""

import zlib

CELLS = {
    "simple": [{"kind": "simple", "units": 3}],
    "gru": [{"kind": "gru", "units": 3}],
    "gru_reset_before": [{"kind": "gru", "units": 3, "reset_after": False}],
    "lstm": [{"kind": "lstm", "units": 3}],
    "stack_mixed": [{"kind": "lstm", "units": 3}, {"kind": "gru", "units": 2}, {"kind": "simple", "units": 4}],
    "custom_multi": [{"kind": "custom", "variant": "multi_state", "units": 3}],
}

FLAG_SETS = {
    "defaults": {},
    "sequences": {"return_sequences": True},
    "state": {"return_state": True},
    "sequences_state": {"return_sequences": True, "return_state": True},
    "backwards": {"go_backwards": True},
    "backwards_sequences": {"go_backwards": True, "return_sequences": True, "return_state": True},
    "unroll": {"unroll": True, "return_sequences": True},
    "unroll_backwards": {"unroll": True, "go_backwards": True, "return_sequences": True, "return_state": True},
    "time_major": {"time_major": True, "return_state": True},
    "time_major_backwards": {"time_major": True, "return_sequences": True, "go_backwards": True},
    "zero_mask": {"zero_output_for_mask": True, "return_sequences": True},
    "zero_mask_last": {"zero_output_for_mask": True},
    "zero_mask_last_unroll": {"zero_output_for_mask": True, "unroll": True},  # the oracle raises: DEV-unroll-zero-mask-last-output
    "zero_mask_backwards": {"zero_output_for_mask": True, "return_sequences": True, "go_backwards": True},
    "zero_mask_unroll_backwards": {"zero_output_for_mask": True, "return_sequences": True,
                                   "go_backwards": True, "unroll": True},
    "explicit_defaults": {"return_sequences": False, "return_state": False, "go_backwards": False,
                          "stateful": False, "unroll": False, "time_major": False,
                          "zero_output_for_mask": False},
}

MASKS = {
    "none": None,
    "right_padded": [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]],
    "left_padded": [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]],
    "holes_and_empty_row": [[1, 0, 1, 0, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]],
    "all_true": [[1] * 5] * 3,
}


def case(cells="simple", flags="defaults", mask="none", **overrides):
    """A batch-3, 5-step case; `cells` and `flags` are names (CELLS,
    FLAG_SETS) or the data itself. The seed depends on the cells and
    the mask only, so cases that differ in flags share weights and inputs (metamorphic checks)."""
    flags = dict(FLAG_SETS[flags]) if isinstance(flags, str) else dict(flags)
    cells = CELLS[cells] if isinstance(cells, str) else cells
    out = {"cells": cells, "flags": flags, "mask": MASKS[mask],
           "batch": 3, "timesteps": 5, "features": [4], "seed": zlib.crc32(f"{cells}/{mask}".encode()) % 10_000}
    out.update(overrides)
    return out
