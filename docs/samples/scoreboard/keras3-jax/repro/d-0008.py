#!/usr/bin/env python
"""d-0008: an error discrepancy between keras3-jax and tf_keras.

`RNN([TrainingCell(2, dtype="float64"), LSTMCell(1, implementation=1, use_bias=False,
dropout=0.5, dtype="float64")], return_state=True, dtype="float64")` on a float64 input of shape
(3, 6, 3) with a mask, an initial_state (tuple_outer form), training=False; steps: call,
reset_states(): keras3-jax raises TypeError (scan body function carry input and carry output
must have equal types, but they differ:) where tf_keras raises nothing.

Found: step 0: the implementation raises TypeError: scan body function carry input and carry
output must have equal types, but they differ:; the oracle does not

Run: python d-0008.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Both sides run in this process: use an environment with target keras3-jax's pins, keras==3.15.1
jax==0.10.2 jaxlib==0.10.2 numpy==2.4.6, and the oracle's, tensorflow==2.21.0 tf-keras==2.21.0.
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import os
import re
import sys
from types import SimpleNamespace

import numpy as np

# The implementation as target keras3-jax runs it (set before it is imported):
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[-0.36093985590740707, -0.3904164900388718, -2.5401735758442467],
               [1.3660043043282653, 0.054795995569017195, -0.26130800297398654],
               [-1.1923997273708535, -1.1753991110029376, 0.9112886348822654],
               [0.07392425421563767, -0.7011688792997534, 0.18437127608687942],
               [-0.7262764475726826, 0.32563554257967425, 1.072811346946713],
               [1.8108649864819566, 0.5061225377656119, 1.3520640040348488]],
              [[0.11575199126854509, -0.3497593815048969, 0.4028993489248585],
               [-1.0271239091744024, 1.370283760003238, -0.5968077097505567],
               [1.3580501557440359, 0.5385924937308434, -0.49689843741429573],
               [0.2934661098426273, 0.07239364241910544, -1.8118655357161113],
               [1.0042496535381915, 0.8179902064078969, 0.4056917974822378],
               [0.5446856472984534, -0.8176992532536864, 0.1608214183922262]],
              [[-0.03583234452858483, 0.006270243033053174, -1.4390052643092202],
               [-0.3271460614127652, -0.348069248153026, 1.1755785099288838],
               [-0.1993543580714531, 0.38471029391295947, -1.3327343033159638],
               [-0.3678157428861204, 0.42880646685282436, -1.100119545581078],
               [1.661211755486239, -1.5931248025848839, 0.07254521801380562],
               [-1.2945813509761128, -0.1757722347395902, 0.385129027426081]]])
MASK = np.array([[0, 1, 0, 0, 0, 0],
                 [0, 1, 1, 1, 1, 1],
                 [0, 0, 1, 0, 1, 1]], dtype=bool)
STATES = (
    np.array([[-0.13100231775943885, 0.08825416525016173],
              [0.2628877254234911, 0.006920677678606104],
              [-0.20646488731887966, -0.08065795125542247]]),
    [
        np.array([[-0.08761371310275061],
                  [0.4801641987976562],
                  [0.4754061182845192]]),
        np.array([[0.2627053469227021],
                  [0.059434662140307466],
                  [0.3240969554606064]]),
    ],
)
WEIGHTS = [
    np.array([[0.5446016958020773, -0.22073299724656503],
              [0.11806715135036809, -0.20616007301178152],
              [-0.2544682220114167, -0.9166304514777713]]),
    np.array([[-0.7842846861788643, -0.46476028869015507],
              [0.30954020034127544, 0.05491512300718147]]),
    np.array([[-0.952103399582424, 0.5522665422650206, -0.5835924710117573, -0.5335569764249152],
              [0.2148678062537478, -0.8803113620655503, -0.3475151269287591, 0.9140107714668164]]),
    np.array([[0.2120793590397222, -0.029851579027072122, 0.12234782138589788,
               -0.7039611285379915]]),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [14, 14]


def training_cell(layers):
    """TrainingCell: its output doubled when training."""
    ops = framework_ops(layers)

    class TrainingCell(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            u = self.units
            self.kernel = self.add_weight(shape=(int(input_shape[-1]), u), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, u), name="recurrent_kernel")
            self.built = True

        def _core(self, inputs, h):
            return ops.dot(inputs, self.kernel) + ops.dot(h, self.recurrent_kernel)

        def call(self, inputs, states, training=None):
            output = ops.tanh(self._core(inputs, states[0]))
            if training:
                output = output * ops.cast_like(2.0, output)
            return output, [output]
    return TrainingCell


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    TrainingCell = training_cell(layers)
    cells = [TrainingCell(2, dtype="float64"),
             layers.LSTMCell(1, implementation=1, use_bias=False, dropout=0.5, dtype="float64")]
    layer = layers.RNN(cells, return_state=True, dtype="float64")
    layer(X, mask=MASK, training=False, initial_state=tensors(layers, STATES))  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    steps.add(layer(X, mask=MASK, training=False, initial_state=tensors(layers, STATES)))
    layer.reset_states()
    steps.add(None)  # a reset has no result


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "rnnconf.impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers


def tensors(layers, nest):
    """Initial states or constants (nested as given) for `layers`: tf_keras takes NumPy inputs and
    masks, but wants tensors here."""
    if isinstance(nest, (list, tuple)):
        return type(nest)(tensors(layers, x) for x in nest)
    tf_keras = sys.modules.get("tf_keras")
    if getattr(layers, "rnnconf_to_tensor", None) is not None:  # a namespace's own conversion
        return layers.rnnconf_to_tensor(nest)
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        return tf_keras.backend.constant(nest, dtype=nest.dtype.name)
    return nest


def framework_ops(layers):
    """The custom cells' math in the framework under `layers` (a namespace's own `ops` and
    `TensorShape` win): the cell runs inside the layer, on its tensors."""
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        import tensorflow as tf  # tf_keras' own framework

        ops = SimpleNamespace(
            dot=lambda x, w: tf.tensordot(x, w, axes=1),
            tanh=tf.tanh,
            cast_like=lambda value, x: tf.cast(value, x.dtype),
        )
    elif keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):
        k = keras.ops
        ops = SimpleNamespace(
            dot=lambda x, w: k.tensordot(x, w, axes=1),
            tanh=k.tanh,
            cast_like=lambda value, x: k.cast(value, x.dtype),
        )
    else:
        ops = SimpleNamespace(
            dot=lambda x, w: x @ w,
            tanh=np.tanh,
            cast_like=lambda value, x: np.asarray(value, x.dtype),
        )
    if getattr(layers, "ops", None) is not None:
        ops = SimpleNamespace(
            dot=layers.ops.dot,
            tanh=layers.ops.tanh,
            cast_like=layers.ops.cast_like,
        )
    return ops


class Steps(list):
    """Each step's result as NumPy arrays, copied when made (a layer's states change later)."""
    read = ()  # indices of the steps that read layer.states

    def add(self, result, read=False):
        if read:
            self.read = (*self.read, len(self))
        self.append(numpy_of(result))

    def clear(self):
        super().clear()
        self.read = ()


def numpy_of(x):
    if isinstance(x, (list, tuple)):
        return [numpy_of(v) for v in x]
    if x is None:
        return None
    if hasattr(x, "detach") and not isinstance(x, np.ndarray):
        x = x.detach().cpu()  # torch: numpy() refuses a tensor that requires grad
    return np.array(x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x)


def outcome(layers):
    """Each step's result; an error ends the run and is its last entry."""
    steps = Steps()
    try:
        run(layers, steps)
    except Exception as error:  # an error is part of the outcome
        steps.append(error)
    return steps


def leaves(result, read=False):
    """(path, array) per array of a step's result: "output", then "state[k]" (per cell:
    "state[k][j]"); "layer.states[k]" for a step that read them."""
    if not isinstance(result, list):
        return [("output", result)]
    found = []

    def collect(x, path):
        if isinstance(x, list):
            for j, item in enumerate(x):
                collect(item, f"{path}[{j}]")
        else:
            found.append((path, x))
    for i, item in enumerate(result):
        collect(item, f"layer.states[{i}]" if read else "output" if i == 0 else f"state[{i - 1}]")
    return found


def nesting(result):
    if isinstance(result, list):
        return [nesting(x) for x in result]
    return None if result is None else "array"


def describe(result):
    if isinstance(result, Exception):
        return error_text(result)
    if isinstance(result, list):
        return "[" + ", ".join(describe(x) for x in result) + "]"
    return "None" if result is None else f"{result.dtype}{list(result.shape)}"


def value_difference(expected, actual, steps):
    """None where `actual` is `expected` up to rounding, else by how much and where it is not. The
    bound, per array (rnnconf's compare.py): 32 * eps(dtype) * steps * (1 + max|expected|), and in
    float64 times min(1.3 ** steps, 1e4) (recurrent weights up to 1.3 amplify rounding); NaN and
    inf must sit at the same places."""
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    both = np.isfinite(e) & np.isfinite(a)
    bound = 0.0
    if np.issubdtype(expected.dtype, np.floating):
        growth = min(1.3 ** steps, 1e4) if expected.dtype == np.float64 else 1.0
        scale = np.abs(np.where(both, e, 0)).max()
        bound = 32 * np.finfo(expected.dtype).eps * steps * (1 + scale) * growth
    diff = np.where(both, np.abs(e - a), 0.0)
    bad = np.where(both, diff > bound, (e != a) & ~(np.isnan(e) & np.isnan(a)))
    if not bad.any():
        return None
    at = tuple(int(k) for k in np.argwhere(bad)[0])
    return (f"max abs diff {diff.max():.3g} where rounding allows {bound:.3g}; first at {at}: "
            f"expected {expected[at]}, got {actual[at]}")


def differences(expected, actual):
    """What differs between the oracle's steps and the implementation's, one line each."""
    found = []
    for i, (e, a) in enumerate(zip(expected, actual)):
        if isinstance(e, Exception) or isinstance(a, Exception):
            return found + error_difference(i, e, a)
        if nesting(e) != nesting(a):
            found.append(f"step {i}: expected results {describe(e)}, got {describe(a)}")
            continue
        for (path, x), (_, y) in zip(leaves(e, i in expected.read), leaves(a)):
            if x is None:
                continue
            if x.shape != y.shape or x.dtype != y.dtype:
                found.append(f"step {i} {path}: expected {describe(x)}, got {describe(y)}")
            elif (difference := value_difference(x, y, ROUNDING_STEPS[i])):
                found.append(f"step {i} {path}: {difference}")
    if len(expected) != len(actual) and not found:
        found.append(f"expected {len(expected)} step results, got {len(actual)}")
    return found


def message(error):
    """An error's message without colour codes or the "Exception encountered" wrapper."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    if text.startswith("Exception encountered when calling"):
        parts = text.split("\n\n")
        text = parts[1] if len(parts) > 1 else text
    return text


def error_text(error):
    return f"{type(error).__name__}: {message(error)[:300]}"


# TensorFlow-only error classes may be raised as the Python class they mean.
EQUIVALENT = {"InvalidArgumentError": "ValueError", "OutOfRangeError": "IndexError"}


def error_difference(i, expected, actual):
    if not isinstance(expected, Exception):
        return [f"step {i}: the implementation raises {error_text(actual)}; the oracle does not"]
    if not isinstance(actual, Exception):
        return [f"step {i}: the oracle raises {error_text(expected)}; the implementation does not"]
    classes, want = {c.__name__ for c in type(actual).__mro__}, type(expected).__name__
    if want not in classes and EQUIVALENT.get(want) not in classes:
        return [f"step {i}: the oracle raises {error_text(expected)}, "
                f"the implementation {error_text(actual)}"]
    return facts_difference(i, expected, actual)


def facts_difference(i, expected, actual):
    return []  # no catalogued facts to compare: the class is what counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", default=IMPL, help="module path (or module:attribute) of a "
                        "layers namespace, or reference, tf_keras, keras3 (default: %(default)s)")
    parser.add_argument("--oracle", default=ORACLE, help="the same, for the expected side "
                        "(default: %(default)s)")
    args = parser.parse_args()
    sides = []
    for role, name in (("oracle", args.oracle), ("implementation", args.impl)):
        try:
            layers = namespace(name)
        except (ImportError, AttributeError) as e:
            parser.error(f"cannot load {name}: {e}")
        sides.append(outcome(layers))
        print(f"== {role} ({name})")
        for i, result in enumerate(sides[-1]):
            print(f"  step {i}: {describe(result)}")
    found = differences(*sides)
    for line in found:
        print(line)
    print("discrepancy persists" if found else "no discrepancy: both sides agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
