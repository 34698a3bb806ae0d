"""TensorFlow.js's Layers API as an implementation under test (`--impl tfjs`).

A namespace shaped like `tf.keras.layers` (README, "Validate your implementation") whose cells and
layers forward to a long-lived Node process running `@tensorflow/tfjs` on its pure JavaScript CPU
backend (worker.js beside this file; one Node process per Python process that uses it). Each Python
object is a handle on a tfjs object: construction builds it in tfjs at once (so tfjs' constructor
errors surface at construction, as Keras' do), a call sends the inputs and call arguments and gets
back tfjs' outputs in tfjs' own nesting; tfjs' errors come back with their class name and message.

Keras' argument names become tfjs' through ARGUMENTS, the one table of the mapping. Where tfjs' layer
has no counterpart of an argument that changes what the layer computes (`time_major`,
`zero_output_for_mask`, float64), the argument is refused with NotImplementedError naming what tfjs
lacks: tfjs ignores arguments it does not know, and float64 silently computes in float32, so passing
them on would judge a layer the user did not ask for. A constructor error of tfjs saying it does not
support a value (GRU's `reset_after=True`) is likewise NotImplementedError, with tfjs' message.
Where tfjs' default differs from Keras 2's (GRU/LSTM `recurrent_activation`: hardSigmoid in tfjs,
sigmoid in Keras; GRU `reset_after`: false in tfjs, true in Keras), Keras' value is passed
explicitly (KERAS_DEFAULTS), so the layer is the one the Keras code describes; docs/tfjs.md lists
these differences.

Speed: set_weights is deferred and sent with the next request (a reused layer's data variant is one
round trip: weights and call), and objects that Python frees are disposed in tfjs with the next
request too.

The Node packages (package.json, package-lock.json beside this file) are installed with `npm ci`
into `$RNNCONF_CACHE/tfjs` on first use (install.py).
"""
import base64
import itertools
import json
import os
import re
import subprocess
import threading
import weakref

import numpy as np

from . import install

TFJS_VERSION = install.TFJS_VERSION

# Keras 2 argument -> tfjs' name; None: tfjs has no such argument (refused unless at Keras' default,
# REFUSED_UNLESS). Values pass through VALUES where tfjs spells them otherwise.
ARGUMENTS = {
    "units": "units", "activation": "activation", "recurrent_activation": "recurrentActivation",
    "use_bias": "useBias", "dropout": "dropout", "recurrent_dropout": "recurrentDropout",
    "implementation": "implementation", "reset_after": "resetAfter", "unit_forget_bias": "unitForgetBias",
    "kernel_initializer": "kernelInitializer", "recurrent_initializer": "recurrentInitializer",
    "bias_initializer": "biasInitializer",
    "return_sequences": "returnSequences", "return_state": "returnState", "go_backwards": "goBackwards",
    "stateful": "stateful", "unroll": "unroll", "batch_input_shape": "batchInputShape",
    "input_shape": "inputShape", "batch_size": "batchSize", "dtype": "dtype", "name": "name",
    "trainable": "trainable", "input_dim": "inputDim", "output_dim": "outputDim", "mask_zero": "maskZero",
    "input_length": "inputLength",
    "time_major": None, "zero_output_for_mask": None,
}
REFUSED_UNLESS = {"time_major": False, "zero_output_for_mask": False}
VALUES = {  # Keras' spelling of a value -> tfjs'
    "activation": {"hard_sigmoid": "hardSigmoid"},
    "recurrent_activation": {"hard_sigmoid": "hardSigmoid"},
    "kernel_initializer": {"glorot_uniform": "glorotUniform", "zeros": "zeros", "ones": "ones",
                           "orthogonal": "orthogonal"},
    "recurrent_initializer": {"orthogonal": "orthogonal", "zeros": "zeros", "glorot_uniform": "glorotUniform"},
    "bias_initializer": {"zeros": "zeros", "ones": "ones"},
}
ACTIVATIONS = ("activation", "recurrent_activation")
# Keras 2's defaults where tfjs' differ, passed explicitly (by tfjs class).
KERAS_DEFAULTS = {
    "GRUCell": {"recurrent_activation": "sigmoid", "reset_after": True},
    "GRU": {"recurrent_activation": "sigmoid", "reset_after": True},
    "LSTMCell": {"recurrent_activation": "sigmoid"},
    "LSTM": {"recurrent_activation": "sigmoid"},
}
DTYPES = ("float32", "int32")  # tfjs' numeric dtypes that rnnconf uses (tfjs has no float64)


class TfjsError(Exception):
    """A JavaScript error class of tfjs (or of Node) with no Python counterpart: `Error`, `RangeError`."""


class TfjsWorkerExited(RuntimeError):
    """The Node process ended: rnnconf's failure, never tfjs' refusal of an input (compare.NOT_A_REFUSAL)."""


_PYTHON_ERRORS = {c.__name__: c for c in (ValueError, TypeError, AttributeError, NotImplementedError,
                                          RuntimeError, IndexError, AssertionError)}
_ERROR_CLASSES = {}


def _exception(error):
    """tfjs' error as a Python exception of the same class name: tfjs-layers' ValueError is Python's,
    a JavaScript `Error` a class `Error`."""
    name, message = error["type"], error["message"]
    cls = _PYTHON_ERRORS.get(name)
    if cls is None:
        cls = _ERROR_CLASSES.setdefault(name, type(name, (TfjsError,), {"__module__": "tfjs"}))
    return cls(message)


# ---- the Node process -------------------------------------------------------------------------------
class Bridge:
    """The Node process and the requests to it; work deferred until the next request rides along."""

    def __init__(self):
        self._proc = None
        self._ids = itertools.count(1)
        self._pending = []         # ops sent before the next request's own
        self._freed = []           # ids of objects Python no longer holds
        self._lock = threading.Lock()

    def new_id(self):
        return next(self._ids)

    def _start(self):
        modules = install.ensure()
        env = dict(os.environ, NODE_PATH=modules)
        self._proc = subprocess.Popen(["node", os.path.join(os.path.dirname(__file__), "worker.js")],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                      bufsize=1)

    def defer(self, op):
        self._pending.append(op)

    def free(self, object_id):
        self._freed.append(object_id)

    def request(self, *ops):
        """The values of `ops`, after the deferred ones; raises tfjs' error of the first that fails
        (a deferred op's error included: it belongs to the call that follows it, as in Keras, where
        set_weights raised at once)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            pending, self._pending = self._pending, []
            if self._freed:
                # A deferred op of an object Python let go of has no call to belong to (a set_weights
                # before a call that never came): it goes with the object.
                pending = [op for op in pending if op.get("id") not in self._freed]
                pending.insert(0, {"op": "dispose", "ids": self._freed})
                self._freed = []
            sent = pending + list(ops)
            self._proc.stdin.write(json.dumps({"ops": sent}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
            if not line:
                code = self._proc.wait()
                self._proc = None
                raise TfjsWorkerExited(f"the tfjs worker (node) exited with status {code}")
        results = json.loads(line)["results"]
        for result in results:
            if "error" in result:
                raise _exception(result["error"])
        return [r["value"] for r in results[len(pending):]]

    def close(self):
        if self._proc is not None:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)
            self._proc = None


_BRIDGE = Bridge()


def encode(value):
    """A NumPy array (or a list nest of them) as worker.js reads it."""
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == np.bool_:
        dtype = "bool"
    elif array.dtype.kind in "iu":
        dtype, array = "int32", array.astype("<i4")
    elif array.dtype == np.float32:
        dtype = "float32"
    else:
        raise NotImplementedError(f"tfjs has no {array.dtype} tensors (its dtypes: float32, int32, bool, "
                                  f"complex64, string)")
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {"dtype": dtype, "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}


def decode(value):
    if value is None:
        return None
    if isinstance(value, list):
        return [decode(v) for v in value]
    dtype = {"float32": "<f4", "int32": "<i4", "bool": "u1"}[value["dtype"]]
    array = np.frombuffer(base64.b64decode(value["b64"]), dtype=dtype).reshape(value["shape"])
    return array.astype(bool) if value["dtype"] == "bool" else array.astype(array.dtype.newbyteorder("="))


def tfjs_arguments(cls, kwargs):
    """Keras constructor arguments of class `cls` as tfjs' (ARGUMENTS, VALUES, KERAS_DEFAULTS);
    NotImplementedError for what tfjs lacks, TypeError for an argument Keras does not know either."""
    args = {}
    for key, value in {**KERAS_DEFAULTS.get(cls, {}), **kwargs}.items():
        if key not in ARGUMENTS:
            raise TypeError(f"Keyword argument not understood: '{key}'")
        name = ARGUMENTS[key]
        if name is None:
            if value == REFUSED_UNLESS[key]:
                continue
            raise NotImplementedError(f"tfjs has no argument '{key}': tfjs' {cls} takes no such option "
                                      f"(it ignores arguments it does not know)")
        if key == "dtype":
            value = getattr(value, "name", value)
            if value not in DTYPES:
                raise NotImplementedError(f"tfjs has no {value} tensors: argument 'dtype'={value!r} "
                                          f"(tfjs computes in float32)")
        if isinstance(value, tuple):
            value = list(value)
        if value is None and key in ACTIVATIONS:
            # Keras' None is the identity; tfjs reads null as "use the default" (tanh in simpleRNNCell).
            value = "linear"
        args[name] = VALUES.get(key, {}).get(value, value) if isinstance(value, str) else value
    return args


class _Handle:
    """A tfjs object held by Python; built in tfjs when created."""
    tfjs_class = None

    def __init__(self, args, cells=None):
        self._id = _BRIDGE.new_id()
        self._cells = cells  # kept alive while this object is: tfjs' layer holds them
        try:
            _BRIDGE.request({"op": "new", "id": self._id, "cls": self.tfjs_class, "args": args})
        except (ValueError, TypeError) as e:
            named = next((key for key, name in ARGUMENTS.items() if name and name in args and
                          re.search(rf"\b({key}|{name})\b", str(e))), None)
            if "not support" in str(e):  # tfjs refuses a value it does not implement: name the argument
                raise NotImplementedError((f"argument '{named}': " if named else "") + f"tfjs: {e}") from None
            raise
        weakref.finalize(self, _BRIDGE.free, self._id)
        self._built = False

    def _ref(self):
        return {"$object": self._id}


class _Cell(_Handle):
    """A tfjs cell: tfjs' cells have no getInitialState (its RNN layer makes the zero states)."""

    def get_initial_state(self, *args, **kwargs):
        raise NotImplementedError(f"tfjs' {self.tfjs_class} has no getInitialState (only tfjs' RNN layer has)")


def _built_in(base, name):
    """The class of tfjs' built-in cell or layer `name` (a Keras name), on `base` (_Handle or _Layer)."""
    class BuiltIn(base):
        tfjs_class = name

        def __init__(self, units, **kwargs):
            self.units = units
            super().__init__(tfjs_arguments(name, dict(kwargs, units=units)))
    BuiltIn.__name__ = BuiltIn.__qualname__ = name
    return BuiltIn


SimpleRNNCell = _built_in(_Cell, "SimpleRNNCell")
GRUCell = _built_in(_Cell, "GRUCell")
LSTMCell = _built_in(_Cell, "LSTMCell")


def _as_cell(cell):
    if not isinstance(cell, _Cell):
        raise NotImplementedError(f"tfjs runs its own cells only, not {type(cell).__name__} "
                                  f"(rnnconf's custom cells are Python)")
    return cell


class StackedRNNCells(_Cell):
    tfjs_class = "StackedRNNCells"

    def __init__(self, cells, **kwargs):
        cells = [_as_cell(c) for c in cells]
        super().__init__(dict(tfjs_arguments("StackedRNNCells", kwargs), cells=[c._ref() for c in cells]), cells)


def _flat_states(value, argument):
    """`value` as tfjs' typed API takes states and constants: a tensor or a flat list of tensors
    (`Tensor|Tensor[]`). Keras' nested forms (a stack's states per cell) have no tfjs spelling."""
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple)) for v in value):
            raise NotImplementedError(f"tfjs takes '{argument}' as a tensor or a flat list of tensors "
                                      f"(Tensor|Tensor[]): a nested form has no tfjs spelling")
        return list(value)
    return value


class _Layer(_Handle):
    """What the recurrent layers and Embedding share: calls, weights, states."""

    def __call__(self, inputs, mask=None, training=None, initial_state=None, constants=None, **kwargs):
        if kwargs:
            raise TypeError(f"call() got an unexpected keyword argument '{next(iter(kwargs))}'")
        op = {"op": "call", "id": self._id, "kwargs": {}}
        if isinstance(inputs, EmbeddingOutput):
            op["embedding"], inputs = inputs.layer._id, inputs.tokens
        elif isinstance(inputs, (list, tuple)):
            raise NotImplementedError("tfjs' apply takes the inputs as one tensor here: list inputs "
                                      "[x, *states] are not passed on")
        op["inputs"] = encode(inputs)
        for key, name, value in (("mask", "mask", mask), ("initial_state", "initialState", initial_state),
                                 ("constants", "constants", constants)):
            if value is not None:
                op["kwargs"][name] = encode(_flat_states(value, key) if key != "mask" else value)
        if training is not None:
            op["kwargs"]["training"] = bool(training)
        result = _BRIDGE.request(op)[0]
        self._built = True
        return decode(result)

    @property
    def built(self):
        return self._built

    def get_weights(self):
        return [decode(w) for w in _BRIDGE.request({"op": "getWeights", "id": self._id})[0]]

    def set_weights(self, weights):
        _BRIDGE.defer({"op": "setWeights", "id": self._id, "weights": encode(list(weights))})

    def reset_states(self, states=None):
        op = {"op": "resetStates", "id": self._id}
        if states is not None:
            op["states"] = encode(_flat_states(states, "states"))
        _BRIDGE.request(op)

    @property
    def states(self):
        return decode(_BRIDGE.request({"op": "states", "id": self._id})[0])


class RNN(_Layer):
    tfjs_class = "RNN"

    def __init__(self, cell, **kwargs):
        if isinstance(cell, (list, tuple)):
            cells = [_as_cell(c) for c in cell]
            ref = [c._ref() for c in cells]
        else:
            cells = _as_cell(cell)
            ref = cells._ref()
        self.cell = cell
        super().__init__(dict(tfjs_arguments("RNN", kwargs), cell=ref), cells)


SimpleRNN = _built_in(_Layer, "SimpleRNN")
GRU = _built_in(_Layer, "GRU")
LSTM = _built_in(_Layer, "LSTM")


class EmbeddingOutput:
    """An Embedding's call: the tokens, embedded in tfjs by the layer that is called on it, which
    also gets the Embedding's computeMask as its mask, as between two layers of a tfjs model."""

    def __init__(self, layer, tokens):
        self.layer, self.tokens = layer, tokens


class Embedding(_Layer):
    tfjs_class = "Embedding"

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(tfjs_arguments("Embedding", dict(kwargs, input_dim=input_dim, output_dim=output_dim)))

    def __call__(self, inputs, **kwargs):
        if kwargs:
            raise TypeError(f"call() got an unexpected keyword argument '{next(iter(kwargs))}'")
        self._built = True  # tfjs builds it with the layer it feeds
        return EmbeddingOutput(self, inputs)

    def get_weights(self):
        if not self._built:
            return []
        return super().get_weights()


# ---- the protocol's hooks -----------------------------------------------------------------------------
def rnnconf_clear_session():
    """Dispose every tfjs object (Python's handles are dropped by the session with it)."""
    _BRIDGE.request({"op": "clear"})


def rnnconf_versions():
    """The versions results.json records for this target: tfjs' packages, as the worker reports them."""
    versions = _BRIDGE.request({"op": "versions"})[0]
    return {"tfjs": versions.get("tfjs", "?"), "tfjs-layers": versions.get("tfjs-layers", "?"),
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")}
