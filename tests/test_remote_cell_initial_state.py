"""CELL-08's test on a target in another interpreter: the cells' get_initial_state runs in the target's
worker, with the test's parameters (the reference behind a worker stands in for such a target)."""
import os
import subprocess
import sys

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_builtin_cell_initial_state_runs_on_a_target_in_another_interpreter():
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/test_cells.py", "-q", "-p", "no:xdist",
                           "-p", "no:cacheprovider", "-k", "test_builtin_cell_initial_state and SimpleRNNCell",
                           "--impl", "reference", "--impl-python", sys.executable],
                          cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "2 passed" in proc.stdout, proc.stdout[-3000:]
