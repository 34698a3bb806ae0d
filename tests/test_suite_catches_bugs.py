"""The conformance suite catches realistic bugs, and names the right clauses.

Each broken namespace in tests/fuzz_targets/ is the reference with one bug. The suite runs on it
(the part of it that concerns the bug, to keep this quick) and its clause report must show the
clauses the bug breaks as failing; the correct reference passes the same selection.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BUGS = {  # namespace: (suite selection, clauses that must fail)
    "tests.fuzz_targets.backwards_not_reversed": (["conformance/test_flags.py", "-k", "backwards"], {"FLAG-03"}),
    "tests.fuzz_targets.mask_ignored": (["conformance/test_masking.py"], {"MASK-01", "CALL-02"}),
    "tests.fuzz_targets.stateful_forgets": (["conformance/test_stateful.py", "-k", "carry"], {"FLAG-04", "STATE-02"}),
    "tests.fuzz_targets.gru_recurrent_bias_dropped": (["conformance/test_cells.py", "-k", "gru"], {"CELL-01", "CELL-03"}),
    # Forward-exact, gradient-wrong: only GRAD clauses may fail.
    "tests.fuzz_targets.grad_state_cut": (["conformance/test_gradients.py", "-k", "initial_state_gradients and lstm"],
                                          {"GRAD-03"}),
    "tests.fuzz_targets.grad_mask_leak": (["conformance/test_gradients.py", "-k", "masked_gradients and gru"],
                                          {"GRAD-05"}),
    "tests.fuzz_targets.grad_weight_scaled": (["conformance/test_gradients.py", "-k", "every_cell and simple"],
                                              {"GRAD-02"}),
    "tests.fuzz_targets.grad_float32": (["conformance/test_gradients.py", "-k", "every_cell and lstm"], {"GRAD-10"}),
    "tests.fuzz_targets.grad_dropout_ignored": (["conformance/test_gradients.py", "-k", "dropout"], {"GRAD-09"}),
}
GRADIENT_BUGS = {t for t in BUGS if t.startswith("tests.fuzz_targets.grad_")}


def run_suite(impl, selection, tmp_path):
    report = tmp_path / "clauses.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", *selection, "-q", "-p", "no:cacheprovider",
                           f"--impl={impl}", f"--clause-report={report}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(report.read_text())
    return proc.returncode, {c for c, v in data["clauses"].items() if v["failures"]}


@pytest.mark.parametrize("impl", sorted(BUGS))
def test_suite_flags_the_bug_with_its_clauses(impl, tmp_path):
    selection, must_fail = BUGS[impl]
    status, failing = run_suite(impl, selection, tmp_path)
    assert status == 1, f"the suite must fail on {impl}"
    assert must_fail <= failing, f"{impl}: expected {sorted(must_fail)} among failing clauses, got {sorted(failing)}"
    if impl in GRADIENT_BUGS:
        assert all(c.startswith("GRAD-") for c in failing), f"{impl}'s forward pass is exact: {sorted(failing)}"


def test_correct_reference_passes_the_same_selections(tmp_path):
    selection = ["conformance/test_flags.py", "-k", "backwards", "conformance/test_masking.py"]
    status, failing = run_suite("reference", selection, tmp_path)
    assert status == 0 and not failing, f"the reference fails {sorted(failing)}"
