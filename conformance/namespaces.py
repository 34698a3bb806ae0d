"""Resolving `--impl NAME` to an implementation under test (interfaces.md section 1), and the adapter
protocol through which any tensor library can sit behind the namespace.

The protocol: besides its layer classes, a namespace may expose these optional attributes (README,
"Validate your implementation"):

  ops                      `dot`, `tanh`, `fill`, `cast_like`: the math of the suite's custom cells
                           (default: NumPy's)
  TensorShape              builds a high-dimensional `state_size` (default: tuple)
  rnnconf_to_tensor(a)     a NumPy array -> the implementation's tensor, for what rnnconf hands a layer
                           besides its inputs and mask: `initial_state`, `constants` (default: the array)
  rnnconf_compile(fn)      `fn` compiled, for the layers the fuzzer reuses (default: none)
  rnnconf_clear_session()  frees what the framework keeps per layer built; called every 100 fresh
                           layers (default: none)
  Model                    `Model(inputs, outputs)` over symbolic `Input`s, with `predict` (default:
                           none; the checks that need a functional model are then unsupported)
  rnnconf_set_seed(n)      seeds the implementation's random draws (dropout masks), so that sampling a
                           case twice gives the same samples (default: none; runs then differ)

tf_keras and Keras 3 are served through the same protocol: an adapter object provides these hooks
for a namespace whose `RNN` class subclasses tf_keras' or Keras 3's `Layer`, so `tf_keras.layers`,
`keras.layers` and any package that wraps or subclasses them need no hook of their own. A hook the
namespace defines itself wins over its adapter's.
"""
import importlib
import os
import sys
import types
from dataclasses import dataclass, field

import numpy as np

SHORT_NAMES = {
    "reference": "impl",
    "tf_keras": "tf_keras.layers",
    "keras3": "keras.layers",
}
REQUIRED = ("RNN", "SimpleRNNCell", "GRUCell", "LSTMCell")
OPTIONAL = ("StackedRNNCells", "SimpleRNN", "GRU", "LSTM", "Embedding", "Layer", "AbstractRNNCell", "Input",
            "Model")
HOOKS = ("ops", "TensorShape", "rnnconf_to_tensor", "rnnconf_compile", "rnnconf_clear_session", "Model",
         "rnnconf_set_seed")


class SetupError(Exception):
    """The implementation cannot be used at all: `rnnconf check` exits 2 with this one line."""


def _same(array):
    return array


@dataclass
class Target:
    name: str                 # what the user typed (or the short name)
    module: str               # the resolved module path
    ns: object                # the namespace: ns.RNN, ns.LSTMCell, ...
    ops: object               # math for the suite's custom cells (see custom_cells.py)
    to_native: object = staticmethod(_same)   # rnnconf_to_tensor: NumPy array -> what the layer accepts
    shape_type: object = tuple                 # builds a high-dimensional state_size (CELL-05)
    framework: str = "other"  # the adapter serving the namespace: "tf_keras", "keras3", or "other"
    versions: dict = field(default_factory=dict)
    # Compiles a Python callable for repeated calls (tf.function for TF); None: call it as it is.
    compile: object = None
    # Frees what the framework keeps per layer built (tf_keras leaks ~0.1 MB per fresh layer).
    clear_session: object = None
    adapter: object = None    # the framework's hooks behind the namespace's own (None: none known)

    def get(self, name):
        """The namespace's `name`, else its adapter's (a `Model` for tf_keras), else None."""
        value = getattr(self.ns, name, None)
        if value is None and self.adapter is not None:
            value = getattr(self.adapter, name, None)
        return value

    def has(self, name):
        return self.get(name) is not None

    def reset_states(self, layer, states=None):
        if hasattr(layer, "reset_states"):
            return layer.reset_states(states) if states is not None else layer.reset_states()
        # Keras 3's name; it takes no values, so resetting to given states is a feature it lacks.
        if states is not None:
            raise NotImplementedError("the layer has reset_state() only, which takes no argument 'states'")
        return layer.reset_state()


# ---- the adapters of the frameworks rnnconf knows ------------------------------------------------------
def _numpy_dot(x, w):
    # The suite's custom cells multiply through this; a width mismatch states its shapes as
    # TensorFlow's matmul does (ERR-38), so the error's facts are not the harness's NumPy wording.
    if np.ndim(x) == 2 and np.ndim(w) == 2 and np.shape(x)[1] != np.shape(w)[0]:
        raise ValueError(f"Matrix size-incompatible: In[0]: [{','.join(map(str, np.shape(x)))}], "
                         f"In[1]: [{','.join(map(str, np.shape(w)))}]")
    return x @ w


def _numpy_ops():
    return types.SimpleNamespace(
        dot=_numpy_dot,
        tanh=np.tanh,
        fill=lambda shape, value, dtype: np.full([int(d) for d in shape], value, np.dtype(getattr(dtype, "name", dtype))),
        cast_like=lambda value, x: np.asarray(value, x.dtype),
    )


def _tf_keras_adapter(tf_keras):
    import tensorflow as tf
    ops = types.SimpleNamespace(
        dot=lambda x, w: tf.tensordot(x, w, axes=1),
        tanh=tf.tanh,
        fill=lambda shape, value, dtype: tf.fill(tf.stack([tf.cast(d, tf.int32) for d in shape]),
                                                 tf.cast(value, dtype)),
        cast_like=lambda value, x: tf.cast(value, x.dtype),
    )
    # tf_keras refuses NumPy arrays among initial_state/constants ("Expected a symbolic tensor").
    return types.SimpleNamespace(
        framework="tf_keras", ops=ops, TensorShape=tf.TensorShape, rnnconf_to_tensor=tf.constant,
        rnnconf_compile=lambda fn: tf.function(fn, reduce_retracing=True, autograph=False),
        rnnconf_clear_session=tf_keras.backend.clear_session, Model=tf_keras.Model,
        rnnconf_set_seed=tf.random.set_seed)


def _keras3_adapter(keras):
    from keras import ops as k
    ops = types.SimpleNamespace(
        dot=lambda x, w: k.tensordot(x, w, axes=1),
        tanh=k.tanh,
        fill=lambda shape, value, dtype: k.full(tuple(int(d) for d in shape), value, dtype=dtype),
        cast_like=lambda value, x: k.cast(value, x.dtype),
    )
    # Keras 3 takes NumPy arrays anywhere and on any backend: no rnnconf_to_tensor; no compiler either.
    return types.SimpleNamespace(framework="keras3", ops=ops, rnnconf_clear_session=keras.backend.clear_session,
                                 Model=keras.Model, rnnconf_set_seed=keras.utils.set_random_seed)


def _framework_bases():
    """(the Layer class of each known framework already imported, its adapter factory). A namespace
    built on a framework has imported it, so none is imported here."""
    bases = []
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None and getattr(getattr(tf_keras, "layers", None), "Layer", None) is not None:
        bases.append((tf_keras.layers.Layer, lambda: _tf_keras_adapter(tf_keras)))
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "ops") and getattr(keras, "Layer", None) is not None:  # Keras 3
        bases.append((keras.Layer, lambda: _keras3_adapter(keras)))
    return bases


def adapter_for(ns):
    """The adapter of the framework the namespace's RNN class is built on, or None."""
    rnn = getattr(ns, "RNN", None)
    if not isinstance(rnn, type):
        return None
    for base, make in _framework_bases():
        if issubclass(rnn, base):
            return make()
    return None


def _versions(module_name):
    import platform
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("tensorflow", "tf_keras", "keras"):
        mod = sys.modules.get(dist)
        if mod is not None:
            out[dist] = getattr(mod, "__version__", "?")
    root = module_name.split(".")[0]
    mod = sys.modules.get(root)
    if mod is not None and root not in out:
        out[root] = getattr(mod, "__version__", "unversioned")
    return out


def target_for(name, module_name, ns):
    """A Target serving `ns` through the protocol: its own hooks first, then its framework's adapter."""
    adapter = adapter_for(ns)

    def hook(attr):
        value = getattr(ns, attr, None)
        return value if value is not None else getattr(adapter, attr, None)

    return Target(name, module_name, ns, hook("ops") or _numpy_ops(),
                  to_native=hook("rnnconf_to_tensor") or _same, shape_type=hook("TensorShape") or tuple,
                  framework=adapter.framework if adapter is not None else "other",
                  compile=hook("rnnconf_compile"), clear_session=hook("rnnconf_clear_session"), adapter=adapter)


def resolve(name):
    """Turn `--impl NAME` into a Target, or raise SetupError with one clear line."""
    if not name:
        raise SetupError("no implementation given: pass --impl NAME (reference, tf_keras, keras3, or a module path)")
    module_name, _, attr = SHORT_NAMES.get(name, name).partition(":")
    if module_name.startswith("tf_keras"):
        # Set before TensorFlow loads, so that `tf.keras` is tf_keras in this process too.
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
    target = target_for(name, module_name, ns)
    target.versions = _versions(module_name)
    return target
