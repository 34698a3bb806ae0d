"""Named building blocks for the suite's case grids: cells, flag sets, masks (batch 3, timesteps 5),
and how grids are built from them without tying one axis to another.

A grid is a list of rows, each a dict {axis: value name}. `product` crosses axes fully (less the rows a
rule excludes, stated where the grid is defined); `add_axis` adds an axis such as dtype without adding
rows, choosing each row's value so that every combination of the new axis with the other axes' values
appears (a covering design). tests/test_grids.py lists what each grid covers, so an axis that silently
follows another (every masked case float32, say) fails a test.
"""
import itertools
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
    # time_major with unroll and with zero_output_for_mask, and return_state with zero_output_for_mask:
    # the pairs of flags no other set turns on together.
    "zero_mask_time_major_unroll": {"zero_output_for_mask": True, "time_major": True, "unroll": True,
                                    "return_sequences": True, "return_state": True},
    "explicit_defaults": {"return_sequences": False, "return_state": False, "go_backwards": False,
                          "stateful": False, "unroll": False, "time_major": False,
                          "zero_output_for_mask": False},
}

# The flag sets about passing arguments at their default value: those are passed (cases.layer_flags);
# every other case leaves an argument at its default out.
EXPLICIT_ARGS = {"explicit_defaults": sorted(FLAG_SETS["explicit_defaults"])}

MASKS = {
    "none": None,
    "right_padded": [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]],
    "left_padded": [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]],
    "holes_and_empty_row": [[1, 0, 1, 0, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]],
    "all_true": [[1] * 5] * 3,
}


DTYPES = ("float32", "float64")


def product(axes, allowed=None):
    """Every combination of the axes' values ({axis: [values]}) that `allowed(row)` accepts, in order."""
    names = list(axes)
    rows = (dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names)))
    return [row for row in rows if allowed is None or allowed(row)]


def add_axis(rows, name, values, strength=3):
    """`rows` with the axis `name` added, no row added: each row takes the value that completes the
    most combinations (of the new value with one, up to strength - 1, of the row's other values) not
    yet seen, ties going to the value used least. Deterministic and greedy, so full coverage is not
    promised for every grid: tests/test_grids.py checks it for each grid built with it."""
    seen, used, out = set(), dict.fromkeys(values, 0), []
    for row in rows:
        others = sorted(row.items())
        subsets = [c for k in range(1, strength) for c in itertools.combinations(others, k)]

        def gain(value):
            return sum((subset, value) not in seen for subset in subsets)
        best = max(values, key=lambda v: (gain(v), -used[v]))
        seen.update((subset, best) for subset in subsets)
        used[best] += 1
        out.append(dict(row, **{name: best}))
    return out


# The flag grid (test_flags.py): every flag set with every cell and mask, in both dtypes.
FLAG_GRID_AXES = {"cells": ["simple", "gru", "gru_reset_before", "lstm", "stack_mixed"], "flags": list(FLAG_SETS),
                  "mask": ["none", "right_padded", "holes_and_empty_row"]}


def mask_matters(row):
    """zero_output_for_mask only acts under a mask: its sets run masked, but for one maskless check
    that the flag alone changes nothing (zero_mask_last)."""
    return not (row["flags"].startswith("zero_mask") and row["flags"] != "zero_mask_last" and row["mask"] == "none")


def flag_grid():
    return add_axis(product(FLAG_GRID_AXES, mask_matters), "dtype", list(DTYPES))


def case(cells="simple", flags="defaults", mask="none", **overrides):
    """A batch-3, 5-step case; `cells` and `flags` are names (CELLS,
    FLAG_SETS) or the data itself. The seed depends on the cells and
    the mask only, so cases that differ in flags share weights and inputs (metamorphic checks)."""
    explicit = EXPLICIT_ARGS.get(flags) if isinstance(flags, str) else None
    flags = dict(FLAG_SETS[flags]) if isinstance(flags, str) else dict(flags)
    cells = CELLS[cells] if isinstance(cells, str) else cells
    out = {"cells": cells, "flags": flags, "mask": MASKS[mask],
           "batch": 3, "timesteps": 5, "features": [4], "seed": zlib.crc32(f"{cells}/{mask}".encode()) % 10_000}
    if explicit:
        out["explicit_args"] = explicit
    out.update(overrides)
    return out
