"""conformance/test_paths.py judges what it runs: a reused layer's outcome through the compiler, and
a constants cell that returns a bare state, fail on an implementation with the matching bug and pass
on the reference."""
import pytest

from tests.test_suite_catches_bugs import run_suite

pytestmark = pytest.mark.oracle

SELECTIONS = {  # planted bug: (the test_paths examples it breaks, clauses that must fail)
    "tests.fuzz_targets.gated_layers_backwards_unreversed": ("reused and time_major_backwards", {"FLAG-03"}),
    "tests.fuzz_targets.constants_first_step_only": ("constants_cell_bare_state", {"CONST-01"}),
}


@pytest.mark.parametrize("impl", sorted(SELECTIONS))
def test_paths_flag_the_bug(impl, tmp_path):
    selection, must_fail = SELECTIONS[impl]
    status, failing = run_suite(impl, ["conformance/test_paths.py", "-k", selection], tmp_path)
    assert status == 1 and must_fail <= failing, f"{impl}: failing {sorted(failing)}"


def test_reference_passes_them(tmp_path):
    selection = " or ".join(f"({s})" for s, _ in SELECTIONS.values())
    status, failing = run_suite("reference", ["conformance/test_paths.py", "-k", selection], tmp_path)
    assert status == 0 and not failing, f"the reference fails {sorted(failing)}"
