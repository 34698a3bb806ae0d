"""The gradient hooks of the frameworks rnnconf knows (engine/gradients.py), called directly."""
import os

import numpy as np
import pytest

from rnnconf.engine import gradients


def test_keras3_on_tensorflow_differentiates_numpy_initial_states():
    """Keras 3 is handed NumPy initial states (it has no rnnconf_to_tensor): the tape must still
    watch them, or every initial-state gradient of Keras 3 reads as missing."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        pytest.skip("Keras 3 runs on another backend here")
    keras = pytest.importorskip("keras")
    layer = keras.layers.SimpleRNN(3)
    x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
    state = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    _, grads = gradients.tf_gradients(layer, x, {"initial_state": [state]}, lambda flat: [np.ones_like(y) for y in flat])
    (d_state,) = grads["initial_state"]
    assert d_state is not None and np.asarray(d_state).shape == (2, 3)
    assert np.all(np.isfinite(d_state)) and np.any(np.asarray(d_state) != 0)
