#!/usr/bin/env python
"""d-0002: an error discrepancy between keras3 and tf_keras.

`RNN([SimpleRNNCell(3, recurrent_dropout=0.25, dtype="float64"), InitStateCell(3,
dtype="float64"), LSTMCell(2, recurrent_dropout=0.25, dtype="float64")], return_sequences=True,
return_state=True, dtype="float64")` on a float64 input of shape (2, 1, 3) with a mask: keras3
raises InvalidArgumentError (cannot compute SelectV2 as input #2(zero-based) was expected to be
a double tensor but is a float tensor [Op:SelectV2] name:) where tf_keras raises nothing.

Found: step 0: the implementation raises InvalidArgumentError: cannot compute SelectV2 as input
#2(zero-based) was expected to be a double tensor but is a float tensor [Op:SelectV2] name: ;
the oracle does not

Run: python d-0002.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import re
import sys
from types import SimpleNamespace

import numpy as np

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[0.11888324998342095, -0.8605117636274213, 1.187564919927331]],
              [[-0.5815625687644088, 0.4794546770215249, 0.07487768132145049]]])
MASK = np.array([[1],
                 [1]], dtype=bool)
WEIGHTS = [
    np.array([[-0.49883720962251077, -0.30595348611259787, 0.12717683323576767],
              [-0.3366965222839242, -0.5197182388359315, -0.3800543962698536],
              [-0.18595596382666144, 0.5945455194961392, 0.3491235910748762]]),
    np.array([[0.10875499005276473, 0.39055528834942693, 0.002159436947123035],
              [0.8158759546175512, 0.09349080279279687, -0.12433677820330717],
              [0.22189333281827622, 0.15284561667119492, -0.11917693529985941]]),
    np.array([0.4583580450340989, 0.04166170480136516, 0.0051929106921790955]),
    np.array([[-0.03409776052983226, -0.5833994573087995, 0.27801146548599553],
              [-0.7394233139407449, 0.2811932613854785, 0.22689630266384184],
              [0.22583061941571198, 0.12912244465763803, -0.324648080607231]]),
    np.array([[0.31407267413039425, -0.1558828591857697, -0.4748068916252964],
              [-0.2793153871364286, 0.6803406148820949, 0.2755425469625067],
              [-0.13477902690199, -0.5029631088156583, 0.47388931237649373]]),
    np.array([[0.06360005040573231, 0.49570926191552855, -0.20234613743213045, 0.7349230611119059,
               0.4022713849820414, -0.06532600415441087, 0.010226895522371765, 0.2356666131619463],
              [0.3976755199644324, -0.1144476967526796, 0.3509807522922564, 0.11860449112313678,
               0.21313298840890257, -0.5489151824334121, -0.5873754323421818, 0.6610824593897608],
              [-1.5320835162856699, -1.0334072701752963, -0.03743545946752368, 0.48885402244969595,
               -0.7294626935335299, 0.9674956102288504, -0.3055165230774037,
               -0.0012846881432288454]]),
    np.array([[-0.2732626622065132, -0.47963606487807886, 0.9889454986720537, 0.21360601114269093,
               0.7832817487224287, 0.48004234237883786, -0.019206180528913416,
               0.0026109641934603965],
              [-0.49126951639630684, -0.6949877009989897, -0.8489222508723075, 0.5278413303859715,
               0.5095512102941995, 0.3897974573571826, -0.4004606603554901, 0.6334256544315962]]),
    np.array([0.2648308058818392, -0.29598026598890864, 0.553511223200594, 0.47566016380362086,
              0.6694037991047085, -0.16243359136034904, 0.12262232255768167, 0.8188746036489417]),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [6]


def init_state_cell(layers):
    """InitStateCell: its own get_initial_state, 0.5 everywhere."""
    ops = framework_ops(layers)

    class InitStateCell(layers.Layer):
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
            return output, [output]

        def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
            return ops.fill([batch_size, self.units], 0.5, dtype)
    return InitStateCell


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    InitStateCell = init_state_cell(layers)
    cells = [layers.SimpleRNNCell(3, recurrent_dropout=0.25, dtype="float64"),
             InitStateCell(3, dtype="float64"),
             layers.LSTMCell(2, recurrent_dropout=0.25, dtype="float64")]
    layer = layers.RNN(cells, return_sequences=True, return_state=True, dtype="float64")
    layer(X, mask=MASK)  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    steps.add(layer(X, mask=MASK))


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers


def framework_ops(layers):
    """The custom cells' math in the framework under `layers` (a namespace's own `ops` and
    `TensorShape` win): the cell runs inside the layer, on its tensors."""
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        import tensorflow as tf  # tf_keras' own framework

        ops = SimpleNamespace(
            dot=lambda x, w: tf.tensordot(x, w, axes=1),
            tanh=tf.tanh,
            fill=lambda dims, value, dtype: tf.fill(tf.stack(dims), tf.cast(value, dtype)),
        )
    elif keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):
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


def numpy_of(x):
    if isinstance(x, (list, tuple)):
        return [numpy_of(v) for v in x]
    if x is None:
        return None
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
