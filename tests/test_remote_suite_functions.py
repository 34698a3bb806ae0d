"""Suite tests that run a function of the target in its worker (target.call), on a target in another
interpreter: CELL-08's get_initial_state and a layer reused through the compiler (the reference behind
a worker stands in for such a target). The worker's environment has no pytest, as a target's own
environment need not."""
import os
import stat
import subprocess
import sys

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _interpreter_without_pytest(folder):
    """An interpreter for the worker in which `import pytest` fails."""
    blocked = folder / "blocked"
    blocked.mkdir()
    (blocked / "pytest.py").write_text("raise ModuleNotFoundError(\"No module named 'pytest'\")\n")
    script = folder / "python"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{blocked}:$PYTHONPATH" exec "{sys.executable}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _run_on_a_worker_without_pytest(tmp_path, selection):
    return subprocess.run([sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:xdist",
                           "-p", "no:cacheprovider", "-k", selection,
                           "--impl", "reference", "--impl-python", _interpreter_without_pytest(tmp_path)],
                          cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=600)


def test_builtin_cell_initial_state_runs_on_a_target_in_another_interpreter(tmp_path):
    proc = _run_on_a_worker_without_pytest(tmp_path, "test_builtin_cell_initial_state and SimpleRNNCell")
    assert proc.returncode == 0 and "2 passed" in proc.stdout, proc.stdout[-3000:]


def test_a_reused_layer_runs_on_a_target_in_another_interpreter(tmp_path):
    proc = _run_on_a_worker_without_pytest(tmp_path, "test_reused_layer_through_the_compiler and gru_state")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:]
