"""What the suite's grids (conformance/grids.py) cover: no axis of a grid may follow another.

Each test lists a grid's coverage as combinations of axis values that must all appear; an axis tied
to another (every masked case float32 and every unmasked one float64, say) leaves combinations out
and fails here.
"""
import itertools

from rnnconf.conformance import grids

FLAGS = ("return_sequences", "return_state", "go_backwards", "unroll", "time_major", "zero_output_for_mask")


def uncovered(rows, axes, strength, allowed=None):
    """The combinations of `strength` axis values that some row of the full product of `axes` (less what
    `allowed` excludes) has and no row of `rows` has."""
    def combos(row):
        return {combo for combo in itertools.combinations(sorted(row.items()), strength)}
    names = list(axes)
    possible = set()
    for values in itertools.product(*(axes[n] for n in names)):
        row = dict(zip(names, values))
        if allowed is None or allowed(row):
            possible |= combos(row)
    present = set().union(*(combos(row) for row in rows))
    return sorted(possible - present)


def test_flag_sets_turn_every_pair_of_flags_on_and_off_together():
    """Across the flag sets, every two flags appear in all four on/off combinations (stateful has its
    own grid in test_stateful.py)."""
    rows = [{flag: bool(flags.get(flag, False)) for flag in FLAGS} for flags in grids.FLAG_SETS.values()]
    assert uncovered(rows, dict.fromkeys(FLAGS, [False, True]), 2) == []


def test_flag_grid_has_every_cell_flag_set_and_mask_in_both_dtypes():
    """The flag grid crosses cells, flag sets and masks fully (zero_output_for_mask sets run masked,
    one of them also unmasked), and every two of those values appear in both dtypes: no dtype
    follows the mask or anything else."""
    rows = grids.flag_grid()
    axes = dict(grids.FLAG_GRID_AXES, dtype=list(grids.DTYPES))
    assert uncovered(rows, axes, 3, grids.mask_matters) == []
    assert len(rows) == len(grids.product(grids.FLAG_GRID_AXES, grids.mask_matters))  # no row added for dtype
    maskless_zero = {row["flags"] for row in rows if row["mask"] == "none" and row["flags"].startswith("zero")}
    assert maskless_zero == {"zero_mask_last"}
    masked_dtypes = {(row["mask"] != "none", row["dtype"]) for row in rows}
    assert masked_dtypes == {(masked, dtype) for masked in (False, True) for dtype in grids.DTYPES}


def test_a_dtype_tied_to_the_mask_is_reported():
    """The coverage check names the combinations a tied axis leaves out: dtype chosen by position in
    a product whose innermost axis has as many values as the period makes dtype follow the mask."""
    tied = [dict(row, dtype="float64" if i % 3 == 0 else "float32")
            for i, row in enumerate(grids.product(grids.FLAG_GRID_AXES))]
    missing = uncovered(tied, dict(grids.FLAG_GRID_AXES, dtype=list(grids.DTYPES)), 2)
    assert (("dtype", "float64"), ("mask", "right_padded")) in missing
    assert (("dtype", "float32"), ("mask", "none")) in missing


def test_add_axis_covers_every_combination_without_adding_rows():
    """On a full product, add_axis gives each row a value so that every value of the new axis meets
    every value and every pair of values of the other axes, the same on every call."""
    axes = {"a": [0, 1, 2, 3], "b": ["x", "y", "z"], "c": [True, False]}
    rows = grids.add_axis(grids.product(axes), "d", ["p", "q"])
    assert len(rows) == 24 and rows == grids.add_axis(grids.product(axes), "d", ["p", "q"])
    assert uncovered(rows, dict(axes, d=["p", "q"]), 3) == []
    wide = grids.add_axis(grids.product(axes), "d", ["p", "q", "r"], strength=2)
    assert uncovered(wide, dict(axes, d=["p", "q", "r"]), 2) == []


def test_masks_cover_every_kind_of_row():
    """The named masks hold rows that are full, empty, padded on the right, padded on the left and
    holed, and a mask with no masked step at all."""
    def kind(row):
        if all(row):
            return "full"
        if not any(row):
            return "empty"
        first, last = row.index(1), len(row) - 1 - row[::-1].index(1)
        if all(row[first:last + 1]):
            return "right_padded" if first == 0 else "left_padded" if last == len(row) - 1 else "middle"
        return "holes"
    kinds = {kind(row) for mask in grids.MASKS.values() if mask is not None for row in mask}
    assert {"full", "empty", "right_padded", "left_padded", "holes"} <= kinds
    assert any(all(all(row) for row in mask) for mask in grids.MASKS.values() if mask is not None)
