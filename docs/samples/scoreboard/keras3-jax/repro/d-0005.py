#!/usr/bin/env python
"""d-0005: an error discrepancy between keras3-jax and tf_keras.

`RNN([SimpleRNNCell(5, dropout=0.5), BareStateCell(5)], stateful=True)` on a float32 input of
shape (2, 3, 3): keras3-jax raises AttributeError ('list' object has no attribute 'assign')
where tf_keras raises nothing.

Found: step 0: the implementation raises AttributeError: 'list' object has no attribute
'assign'; the oracle does not

Run: python d-0005.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
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

X = np.array([[[0.71931696, 0.20316437, -0.5199672],
               [-0.39148158, 0.40783587, -1.000717],
               [-1.2859633, -1.2220773, -0.2030824]],
              [[-1.7616397, -0.10646271, -0.6803298],
               [1.9351912, 0.27308518, -1.539719],
               [-0.035821114, 1.3595634, -1.5811284]]], dtype=np.float32)
WEIGHTS = [
    np.array([[-0.055284135, 0.29358193, 0.5414264, -0.010450029, 0.2302739],
              [0.23245792, -0.069936395, -0.8334099, -0.019637253, -0.15772931],
              [0.25951448, 0.43523166, 0.6530738, 0.2229376, 0.2301677]], dtype=np.float32),
    np.array([[0.42068198, -0.030940179, 0.5657985, -0.30895773, 0.14410996],
              [0.06795962, 0.47516966, -0.21880701, 0.14025326, -0.29269293],
              [-0.12557349, -0.029180221, -0.35408506, 0.08917666, 0.037895642],
              [0.20444067, 0.3239347, 0.43006602, 0.059057374, 0.5234428],
              [-0.12103478, -0.1379406, 0.011286229, -0.005152186, 0.27587995]], dtype=np.float32),
    np.array([-0.011665482, 0.30982095, -0.6086011, 0.16309315, 0.12266493], dtype=np.float32),
    np.array([[0.11756157, 0.1577981, 0.03716508, 0.4229227, -0.37046018],
              [-0.6067819, -0.37537766, 0.2538441, 0.35051975, -0.21240468],
              [-0.14849925, -0.3191048, -0.1969696, 0.10178349, -0.7880493],
              [0.33531174, 0.30577636, 0.018469008, -0.10097035, -0.26105818],
              [0.0698826, 0.4303456, -0.035471752, 0.37197435, -0.030504052]], dtype=np.float32),
    np.array([[0.16830164, 0.12453955, 0.19928522, 0.014116491, 0.28132743],
              [-0.12096669, 0.5240135, -0.15135352, -0.005226537, 0.25193956],
              [0.34708524, -0.5446986, 0.021154879, 0.48577556, -0.18672],
              [0.10902413, -0.21979801, 0.19874796, -0.097516105, 0.22238673],
              [0.324813, 0.20617935, 0.36208558, -0.16325024, 0.24731225]], dtype=np.float32),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [8]

# How the harness below judges this case:
VALUES_COMPARED = True  # values are held to the rounding bound of ROUNDING_STEPS
UNDECIDED = False  # True: agreeing structure leaves a distribution's discrepancy open (exit 2)
FACTS = None  # no catalogued facts to compare: an error's class is what counts
TIMEOUT_S = None  # seconds the implementation may run
GRADIENTS = False  # whether gradients are compared too


def bare_state_cell(layers):
    """BareStateCell: returns its one new state as a tensor, not in a list."""
    ops = framework_ops(layers)

    class BareStateCell(layers.Layer):
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

        def call(self, inputs, states):
            output = ops.tanh(self._core(inputs, states[0]))
            return output, output  # the one new state as a tensor, not in a list
    return BareStateCell


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    BareStateCell = bare_state_cell(layers)
    def build(**batch_size):
        return layers.RNN([layers.SimpleRNNCell(5, dropout=0.5), BareStateCell(5)], stateful=True,
                          **batch_size)
    layer = stateful_layer(build, batch_input_shape=(2, 3, 3))
    layer(X)  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    layer.reset_states()  # zero states, as on a new layer
    steps.add(layer(X))


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "rnnconf.impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers


def builds_layers_of(layers, base):
    """Whether the namespace's RNN is a subclass of `base`; a converter's RNN may be a factory function."""
    return isinstance(layers.RNN, type) and issubclass(layers.RNN, base)


def stateful_layer(build, batch_input_shape):
    """build(batch_input_shape=...): a stateful layer given its batch size Keras 2's way; where the
    namespace has no such argument (Keras 3), build(): the layer's first call fixes its batch size."""
    try:
        return build(batch_input_shape=batch_input_shape)
    except (TypeError, ValueError) as error:
        if "batch_input_shape" not in str(error):
            raise
    return build()


def framework_ops(layers):
    """The custom cells' math in the framework under `layers` (a namespace's own `ops` and
    `TensorShape` win): the cell runs inside the layer, on its tensors."""
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and builds_layers_of(layers, tf_keras.layers.Layer):
        import tensorflow as tf  # tf_keras' own framework

        ops = SimpleNamespace(
            dot=lambda x, w: tf.tensordot(x, w, axes=1),
            tanh=tf.tanh,
        )
    elif keras is not None and hasattr(keras, "ops") and builds_layers_of(layers, keras.Layer):
        k = keras.ops
        ops = SimpleNamespace(
            dot=lambda x, w: k.tensordot(x, w, axes=1),
            tanh=k.tanh,
        )
    else:
        ops = SimpleNamespace(
            dot=lambda x, w: x @ w,
            tanh=np.tanh,
        )
    if getattr(layers, "ops", None) is not None:
        ops = SimpleNamespace(
            dot=layers.ops.dot,
            tanh=layers.ops.tanh,
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


def states_of(layer):
    """layer.states, or None where the layer keeps none (Keras 3 says None, Keras 2 one None per state)."""
    states = layer.states
    return None if states is None or all(s is None for s in states) else list(states)


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
            elif VALUES_COMPARED and (difference := value_difference(x, y, ROUNDING_STEPS[i])):
                found.append(f"step {i} {path}: {difference}")
        if GRADIENTS:
            found += gradient_differences(i, expected, actual)
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
    if FACTS is None:
        return []  # no catalogued facts to compare: the class is what counts
    return facts_difference(i, expected, actual)


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
        if TIMEOUT_S and role == "implementation":  # a hang of the implementation ends the script
            signal.signal(signal.SIGALRM, hung)
            signal.alarm(TIMEOUT_S)
        sides.append(outcome(layers))
        print(f"== {role} ({name})")
        for i, result in enumerate(sides[-1]):
            print(f"  step {i}: {describe(result)}")
    if GRADIENTS:
        print_gradient_differences(*sides)
    found = differences(*sides)
    if UNDECIDED and not found:  # a difference of distributions: what this script cannot test, it does not pass
        print("values not compared: the discrepancy is in their distribution under dropout, which only "
              "rnnconf's sampled check tests; the structure agrees")
        return 2
    for line in found:
        print(line)
    print("discrepancy persists" if found else "no discrepancy: both sides agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
