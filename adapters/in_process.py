"""A namespace served in this process: the Target through which rnnconf uses it, the hooks of the
adapter protocol (described in namespaces.py and docs/protocol.md) and the adapters of the frameworks
rnnconf knows. A worker's child process resolves its implementation here; namespaces.resolve does so
for every name that is not a target of another interpreter."""
import importlib
import inspect
import os
from importlib import metadata
import platform
import sys
import types
from dataclasses import dataclass, field

import numpy as np

from rnnconf.engine import gradients

SHORT_NAMES = {
    "reference": "rnnconf.impl",
    "tf_keras": "tf_keras.layers",
    "keras3": "keras.layers",
    "tfjs": "rnnconf.adapters.tfjs",   # TensorFlow.js in Node (adapters/tfjs)
}
REQUIRED = ("RNN", "SimpleRNNCell", "GRUCell", "LSTMCell")
OPTIONAL = ("StackedRNNCells", "SimpleRNN", "GRU", "LSTM", "Embedding", "Layer", "AbstractRNNCell", "Input",
            "Model")
HOOKS = ("ops", "TensorShape", "rnnconf_to_tensor", "rnnconf_compile", "rnnconf_clear_session", "Model",
         "rnnconf_set_seed", "rnnconf_framework", "rnnconf_gradients")


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
    gradients: object = None  # rnnconf_gradients (engine/gradients.py); None: not differentiable

    def __repr__(self):
        # Short: a failing test shows its fixtures, and reports must not carry this machine's paths.
        return f"Target({self.name!r}, module={self.module!r})"

    def get(self, name):
        """The namespace's `name`, else its adapter's (a `Model` for tf_keras), else None."""
        value = getattr(self.ns, name, None)
        if value is None and self.adapter is not None:
            value = getattr(self.adapter, name, None)
        return value

    def has(self, name):
        return self.get(name) is not None

    def call(self, function, *args):
        """`function(target, *args)`: code that uses the namespace itself, run where it lives (here)."""
        return function(self, *args)

    def reset_states(self, layer, states=None):
        reset = getattr(layer, "reset_states", None) or layer.reset_state  # Keras 3 has both, neither takes values
        if states is None:
            return reset()
        # Setting the states to given values is a feature of its own (STATE-04): a reset that takes no
        # values lacks it, which is no error of its.
        if not _takes_an_argument(reset):
            raise NotImplementedError(f"the layer's {reset.__name__}() takes no argument 'states'")
        return reset(states)


def _takes_an_argument(method):
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): let the call say
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


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
        rnnconf_compile=_tf_compile,
        rnnconf_clear_session=tf_keras.backend.clear_session, Model=tf_keras.Model,
        rnnconf_set_seed=tf.random.set_seed, rnnconf_gradients=gradients.tf_gradients)


def _keras3_adapter(keras):
    from keras import ops as k
    ops = types.SimpleNamespace(
        dot=lambda x, w: k.tensordot(x, w, axes=1),
        tanh=k.tanh,
        fill=lambda shape, value, dtype: k.full(tuple(int(d) for d in shape), value, dtype=dtype),
        cast_like=lambda value, x: k.cast(value, x.dtype),
    )
    # Keras 3 takes NumPy arrays anywhere and on any backend: no rnnconf_to_tensor. Reused layers go
    # through the backend's compiler where it has one; the implementation's compiled calls are
    # spot-checked eagerly (execute.Session), as a compiled path can hide a bug of the eager one.
    compilers = {"tensorflow": _tf_compile, "jax": _jax_compile}
    return types.SimpleNamespace(framework="keras3", ops=ops, rnnconf_clear_session=keras.backend.clear_session,
                                 Model=keras.Model, rnnconf_set_seed=keras.utils.set_random_seed,
                                 rnnconf_compile=compilers.get(keras.backend.backend()),
                                 rnnconf_gradients=gradients.keras3_default(keras.backend.backend()))


def _tf_compile(forward):
    """`forward` as a tf.function (autograph off: the layer's Python runs as written, once, at tracing)."""
    import tensorflow as tf
    return tf.function(forward, reduce_retracing=True, autograph=False)


def _jax_compile(forward):
    """`forward(weights, x, kwargs)` (execute.Runner's: assign the weights, call the layer) under
    jax.jit. Keras 3 on JAX runs its time loop through lax.scan, compiled anew at every eager call
    (about 240 ms a call); jitted, a built layer's calls take a few ms after one compilation per shape.
    The call runs in a StatelessScope: the weights' assignments hold for the call only and no traced
    value leaks into a variable (a stateful layer's updated states are lost with them, so its compiled
    reuse fails and a fresh layer judges it, as for any compiled reuse). `training` and other flags
    are static: Keras branches on them in Python."""
    import jax
    import keras

    def stateless(weights, x, arrays, static):
        with keras.StatelessScope():
            return forward(weights, x, dict(arrays, **dict(static)))
    jitted = jax.jit(stateless, static_argnums=3)

    def call(weights, x, kwargs):
        static = tuple(sorted((k, v) for k, v in kwargs.items() if v is None or isinstance(v, bool)))
        arrays = {k: v for k, v in kwargs.items() if not (v is None or isinstance(v, bool))}
        return jitted(weights, x, arrays, static)
    return call


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
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("tensorflow", "tf_keras", "keras", "jax", "jaxlib", "torch", "tf2onnx", "onnx", "onnxruntime",
                 "openvino", "ai_edge_litert"):
        mod = sys.modules.get(dist)
        if mod is not None:
            # str(): torch's version is a str subclass of its own, which another process cannot unpickle
            out[dist] = str(getattr(mod, "__version__", None) or _dist_version(dist))
    own = getattr(sys.modules.get(module_name), "rnnconf_versions", None)  # a namespace's own packages
    if own is not None:
        out.update(own())
    root = module_name.split(".")[0]
    mod = sys.modules.get(root)
    if mod is not None and root not in out:
        out[root] = str(getattr(mod, "__version__", "unversioned"))
    return out


def _dist_version(module):
    try:
        return metadata.version(module.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return "?"


def target_for(name, module_name, ns):
    """A Target serving `ns` through the protocol: its own hooks first, then its framework's adapter."""
    adapter = adapter_for(ns)

    def hook(attr):
        value = getattr(ns, attr, None)
        return value if value is not None else getattr(adapter, attr, None)

    return Target(name, module_name, ns, hook("ops") or _numpy_ops(),
                  to_native=hook("rnnconf_to_tensor") or _same, shape_type=hook("TensorShape") or tuple,
                  framework=hook("rnnconf_framework") or (adapter.framework if adapter is not None else "other"),
                  compile=hook("rnnconf_compile"), clear_session=hook("rnnconf_clear_session"), adapter=adapter,
                  gradients=hook("rnnconf_gradients"))


def resolve_in_process(name):
    """The Target of `--impl NAME` imported into this process (a short name, a module path or
    module:attribute), or SetupError with one clear line."""
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
