#!/usr/bin/env python
"""r-0009: an error discrepancy between keras3-jax and tf_keras.

`RNN(BadStateCell(2))` on a float32 input of shape (2, 4, 3): impl_target =
RemoteTarget('keras3-jax', module='keras3') oracle_target = Target('tf_keras',
module='tf_keras.layers'), err_id = 'ERR-46' case = {'cells': [{'kind': 'custom', 'variant':
'bad_state', 'units': 2}]} @pytest.mark.parametrize("err_id, case", list(_case_params())) def
test_error_.

Found: impl_target = RemoteTarget('keras3-jax', module='keras3') oracle_target =
Target('tf_keras', module='tf_keras.layers'), err_id = 'ERR-46' case = {'cells': [{'kind':
'custom', 'variant': 'bad_state', 'units': 2}]} @pytest.mark.parametrize("err_id, case",
list(_case_params())) def test_error_case(impl_target, oracle_target, err_id, case): expected =
execute.run(oracle_target, case)

Run: python r-0009.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
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
               [-1.2859633, -1.2220773, -0.2030824],
               [-1.7616397, -0.10646271, -0.6803298]],
              [[1.9351912, 0.27308518, -1.539719],
               [-0.035821114, 1.3595634, -1.5811284],
               [0.1688581, 0.045456454, 0.39374673],
               [-0.30431592, -2.2347624, 0.69838613]]], dtype=np.float32)

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [5]

# How the harness below judges this case:
VALUES_COMPARED = True  # values are held to the rounding bound of ROUNDING_STEPS
UNDECIDED = False  # True: agreeing structure leaves a distribution's discrepancy open (exit 2)
# The oracle's error states facts from the input (ERR-46 in rnnconf's error catalog).
# The implementation's message must state them too: by name where it has the oracle's wording,
# else anywhere, in order.
FACTS = re.compile(
    r"Tensor's shape (?P<returned>\([^)]*\)) is not compatible with supplied shape (?P<expecte"
    r"d>\([^)]*\))",
    re.S | re.M)
FACT_NAMES = ("returned", "expected")
TIMEOUT_S = None  # seconds the implementation may run
GRADIENTS = False  # whether gradients are compared too


def bad_state_cell(layers):
    """BadStateCell: returns a state of the wrong width."""
    ops = framework_ops(layers)

    class BadStateCell(layers.Layer):
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
            widen = ops.fill([self.units, self.units + 2], 0.1, output.dtype)
            return output, [ops.dot(output, widen)]  # two columns wider than state_size
    return BadStateCell


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    BadStateCell = bad_state_cell(layers)
    layer = layers.RNN(BadStateCell(2))
    layer(X)  # builds the weights, replaced next
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


def framework_ops(layers):
    """The custom cells' math in the framework under `layers` (a namespace's own `ops` and
    `TensorShape` win): the cell runs inside the layer, on its tensors."""
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and builds_layers_of(layers, tf_keras.layers.Layer):
        import tensorflow as tf  # tf_keras' own framework

        ops = SimpleNamespace(
            dot=lambda x, w: tf.tensordot(x, w, axes=1),
            tanh=tf.tanh,
            fill=lambda dims, value, dtype: tf.fill(tf.stack(dims), tf.cast(value, dtype)),
        )
    elif keras is not None and hasattr(keras, "ops") and builds_layers_of(layers, keras.Layer):
        k = keras.ops
        ops = SimpleNamespace(
            dot=lambda x, w: k.tensordot(x, w, axes=1),
            tanh=k.tanh,
            fill=lambda dims, value, dtype: k.full([int(d) for d in dims], value, dtype=dtype),
        )
    else:
        ops = SimpleNamespace(
            dot=lambda x, w: x @ w,
            tanh=np.tanh,
            fill=lambda dims, value, dtype: np.full([int(d) for d in dims], value, np.dtype(dtype)),
        )
    if getattr(layers, "ops", None) is not None:
        ops = SimpleNamespace(
            dot=layers.ops.dot,
            tanh=layers.ops.tanh,
            fill=layers.ops.fill,
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


def facts_difference(i, expected, actual):
    """Of two errors of the same class: the FACT_NAMES the oracle's message states (FACTS) and the
    implementation's does not, by name where it has the oracle's wording, else anywhere, in order."""
    want, got = FACTS.search(message(expected)), FACTS.search(message(actual))
    if want is None:
        return []  # another error than the one this reproducer knows: its class is what counts
    said = tokens(message(actual))
    missing = [f"{name}={want[name]!r}" for name in FACT_NAMES if want[name] is not None and not (
        tokens(got[name]) == tokens(want[name]) if got else contained(tokens(want[name]), said))]
    if not missing:
        return []
    return [f"step {i}: both raise {type(actual).__name__}, but the implementation's message does "
            f"not state {', '.join(missing)}: the oracle says {message(expected)[:300]!r}, the "
            f"implementation {message(actual)[:300]!r}"]


def tokens(text):
    """The numbers and names of a message, without brackets, quotes and wrappers: "(2, 5)" is
    "[2,5]"."""
    noise = {"ListWrapper", "TensorShape", "InputSpec", "shape", "ndim", "array", "dtype"}
    return [t for t in re.findall(r"-?\d+(?:\.\d+)?|[A-Za-z_]\w*", text or "") if t not in noise]


def contained(needle, haystack):
    n = len(needle)
    return any(haystack[k:k + n] == needle for k in range(len(haystack) - n + 1))


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
