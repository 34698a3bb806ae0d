"""Resolving `--impl NAME` to an implementation under test (interfaces.md section 1).

A Target bundles the namespace (an object shaped like `tf.keras.layers`) with the few things that
differ between frameworks: how a NumPy array becomes something its layers accept, how results become
NumPy, how states are reset, and the math (`ops`) the suite's custom cells are written in.
"""
import importlib
import os
import types
from dataclasses import dataclass, field

import numpy as np

SHORT_NAMES = {
    "reference": "impl",
    "tf_keras": "tf_keras.layers",
    "keras3": "keras.layers",
}
REQUIRED = ("RNN", "SimpleRNNCell", "GRUCell", "LSTMCell")
OPTIONAL = ("StackedRNNCells", "SimpleRNN", "GRU", "LSTM", "Embedding", "Layer")


class SetupError(Exception):
    """The implementation cannot be used at all: `rnnconf check` exits 2 with this one line."""


@dataclass
class Target:
    name: str                 # what the user typed (or the short name)
    module: str               # the resolved module path
    ns: object                # the namespace: ns.RNN, ns.LSTMCell, ...
    ops: object               # math for the suite's custom cells (see custom_cells.py)
    to_native: object = staticmethod(lambda a: a)   # NumPy array -> what initial_state/constants accept
    shape_type: object = tuple                       # builds a high-dimensional state_size (CELL-05)
    framework: str = "other"
    versions: dict = field(default_factory=dict)
    # Compiles a Python callable for repeated calls (tf.function for TF); None: call it as it is.
    compile: object = None
    # Frees what the framework keeps per layer built (tf_keras leaks ~0.1 MB per fresh layer).
    clear_session: object = None

    def has(self, name):
        return getattr(self.ns, name, None) is not None

    def reset_states(self, layer, states=None):
        if hasattr(layer, "reset_states"):
            return layer.reset_states(states) if states is not None else layer.reset_states()
        # Keras 3 names it reset_state and takes no values.
        if states is not None:
            raise TypeError("reset_state() of this implementation does not accept states")
        return layer.reset_state()


def _numpy_ops():
    return types.SimpleNamespace(
        dot=lambda x, w: x @ w,
        tanh=np.tanh,
        fill=lambda shape, value, dtype: np.full([int(d) for d in shape], value, np.dtype(getattr(dtype, "name", dtype))),
        cast_like=lambda value, x: np.asarray(value, x.dtype),
    )


def _tf_ops():
    import tensorflow as tf
    return types.SimpleNamespace(
        dot=lambda x, w: tf.tensordot(x, w, axes=1),
        tanh=tf.tanh,
        fill=lambda shape, value, dtype: tf.fill(tf.stack([tf.cast(d, tf.int32) for d in shape]),
                                                 tf.cast(value, dtype)),
        cast_like=lambda value, x: tf.cast(value, x.dtype),
    )


def _keras3_ops():
    from keras import ops
    return types.SimpleNamespace(
        dot=lambda x, w: ops.tensordot(x, w, axes=1),
        tanh=ops.tanh,
        fill=lambda shape, value, dtype: ops.full(tuple(int(d) for d in shape), value, dtype=dtype),
        cast_like=lambda value, x: ops.cast(value, x.dtype),
    )


def _versions(module_name):
    import platform
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("tensorflow", "tf_keras", "keras"):
        mod = sys_modules_get(dist)
        if mod is not None:
            out[dist] = getattr(mod, "__version__", "?")
    root = module_name.split(".")[0]
    mod = sys_modules_get(root)
    if mod is not None and root not in out:
        out[root] = getattr(mod, "__version__", "unversioned")
    return out


def sys_modules_get(name):
    import sys
    return sys.modules.get(name)


def resolve(name):
    """Turn `--impl NAME` into a Target, or raise SetupError with one clear line."""
    if not name:
        raise SetupError("no implementation given: pass --impl NAME (reference, tf_keras, keras3, or a module path)")
    module_name, _, attr = SHORT_NAMES.get(name, name).partition(":")
    if name == "tf_keras" or module_name.startswith("tf_keras"):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - any import failure is a set-up error for the user
        raise SetupError(f"cannot import implementation module '{module_name}' (from --impl {name}): "
                         f"{type(e).__name__}: {e}") from e
    ns = module
    if attr:
        ns = getattr(module, attr, None)
        if ns is None:
            raise SetupError(f"module '{module_name}' has no attribute '{attr}' (from --impl {name})")
    missing = [n for n in REQUIRED if getattr(ns, n, None) is None]
    if missing:
        raise SetupError(f"implementation '{name}' ({module_name}) lacks required name(s): {', '.join(missing)}; "
                         f"a namespace must provide {', '.join(REQUIRED)}")
    if module_name.startswith("tf_keras"):
        import tensorflow as tf
        import tf_keras
        target = Target(name, module_name, ns, _tf_ops(), to_native=tf.constant, shape_type=tf.TensorShape,
                        framework="tf_keras", compile=lambda fn: tf.function(fn, reduce_retracing=True, autograph=False),
                        clear_session=tf_keras.backend.clear_session)
    elif module_name.startswith("keras"):
        import keras
        target = Target(name, module_name, ns, _keras3_ops(), framework="keras3",
                        clear_session=keras.backend.clear_session)
    else:
        shape_type = getattr(ns, "TensorShape", tuple)
        ops = getattr(ns, "ops", None) or _numpy_ops()
        # Optional: `rnnconf_compile(fn)` returns a compiled fn (a JIT), used for layers the fuzzer reuses.
        target = Target(name, module_name, ns, ops, shape_type=shape_type,
                        framework="reference" if module_name == "impl" else "other",
                        compile=getattr(ns, "rnnconf_compile", None))
    target.versions = _versions(module_name)
    return target
