"""rnnconf's torch gradient hook (conformance/gradients.py) in Keras 3's torch environment: it runs
there only, so the test runs that environment's Python, and is skipped where it is not installed."""
import os
import subprocess

import pytest

from rnnconf import targets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = """
import numpy as np, keras
from conformance.gradients import torch_gradients
x = np.random.default_rng(0).normal(size=(2, 4, 3))[:, ::-1]  # a reversed view: negative strides
layer = keras.layers.GRU(2, dtype="float64", go_backwards=True)
_, grads = torch_gradients(layer, x, {}, lambda flat: [np.ones_like(y)[:, ::-1] for y in flat])
assert tuple(grads["inputs"].shape) == (2, 4, 3), grads["inputs"].shape
print("ok")
"""


def _torch_python():
    _, python, env = targets.remote_spec("keras3-torch", install=False)
    if not (python and os.path.exists(python)):  # built on the target's first use, not by `make test`
        pytest.skip("needs the keras3-torch environment (`rnnconf check --impl keras3-torch` builds it)")
    return python, env


def test_reversed_inputs_and_cotangents_reach_torch():
    python, env = _torch_python()
    run_env = {**os.environ, **(env or {}), "KERAS_BACKEND": "torch", "PYTHONPATH": ROOT}
    done = subprocess.run([python, "-c", SCRIPT], env=run_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
