#!/usr/bin/env python
"""d-0022: a value discrepancy between keras3-numpy and tf_keras.

`RNN(GRUCell(5))` on a float32 input of shape (2, 6, 2) with a mask, an initial_state:
keras3-numpy's output of the first call differs from tf_keras's beyond rounding.

Found: step 0 output: max abs diff 0.47 (max rel 4.7e+29) at (0, 0): expected 0.0, got
0.11285371333360672

Run: python d-0022.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Both sides run in this process: use an environment with target keras3-numpy's pins,
keras==3.15.1 numpy==2.4.6 scipy==1.17.1 jax==0.10.2 jaxlib==0.10.2, and the oracle's,
tensorflow==2.21.0 tf-keras==2.21.0.
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import os
import re
import sys

import numpy as np

# The implementation as target keras3-numpy runs it (set before it is imported):
os.environ.setdefault("KERAS_BACKEND", "numpy")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[1.145452, 1.7978239],
               [0.2679651, -0.9988679],
               [1.1003671, -0.76079553],
               [1.0619256, -0.6107955],
               [2.2420654, -2.2868285],
               [-0.71466607, 0.06295217]],
              [[0.55369294, 0.07897191],
               [0.3906564, 0.23317826],
               [1.8061457, -0.36172724],
               [-0.40450543, 2.174538],
               [1.5801698, -0.11526092],
               [1.1760881, -0.7409991]]], dtype=np.float32)
MASK = np.array([[0, 0, 0, 0, 0, 0],
                 [0, 0, 0, 1, 1, 1]], dtype=bool)
STATES = [
    np.array([[0.11285371, -0.29693422, 0.12097161, -0.46241197, -0.47042346],
              [0.36217478, -0.18440197, 0.064570494, 0.28964996, -0.0419788]], dtype=np.float32),
]
WEIGHTS = [
    np.array([[-0.14549871, -0.17281309, 0.15472645, 1.0385478, 0.47083113, 0.2188132, -0.21639173,
               0.9054562, 0.8317693, -0.7498913, 0.020056615, -0.22018974, -0.21432014, 0.39295802,
               -0.7216661],
              [-0.42556867, -0.07110395, -0.22767486, 0.5219986, 0.028492557, 0.0839326,
               -0.25503007, 0.22255029, -0.26965657, 0.62780845, -0.34943822, 0.5362131,
               -0.43168405, -0.54755867, 0.341302]], dtype=np.float32),
    np.array([[-0.23052967, -0.088681325, 0.052957714, 0.22685663, -0.69170576, -0.22477217,
               0.25879154, 0.0038888727, -0.2226086, -0.11979503, 0.430597, -0.24347053, 0.45342577,
               0.29531938, 0.2212584],
              [-0.015370331, -0.66705143, 0.23873582, 0.3429089, -0.018675625, 0.16490303,
               0.1603103, -0.20063686, 0.25520605, 0.14609735, 0.03249529, -0.23395227, -0.242327,
               -0.17913775, 0.08442242],
              [0.13386646, -0.101234466, -0.16153164, -0.026429495, -0.16895807, 0.25305948,
               -0.30495217, 0.37004244, -0.47508502, -0.014430147, 0.026725868, 0.0727601,
               -0.0696564, -0.16852649, 0.184058],
              [0.13464677, 0.5240391, 0.029222526, -0.17435367, 0.03920876, 0.15327841, 0.293685,
               -0.22537594, 0.012702962, 0.15710254, -0.08919085, 0.29729703, -0.5463238,
               0.034807958, -0.11778621],
              [0.062203623, 0.3667997, 0.25334647, -0.4062981, 0.08153062, 0.17310542, -0.18000828,
               0.195714, 0.029803002, 0.73073035, -0.7653503, -0.062042497, -0.47632685, 0.07134293,
               -0.0914755]], dtype=np.float32),
    np.array([[0.00034149672, 0.2890179, -0.7757551, 0.9401298, -0.69800186, 0.09433953, 0.41493195,
               -0.40299195, -0.124441236, 0.38559657, 0.806866, -1.3500758, 0.7234062, -0.63265383,
               0.09404955],
              [0.5990005, -0.5203618, -0.2329598, -0.6415798, -0.32847413, -0.35674614, -0.37754795,
               -0.4060964, 0.17607728, -0.55151564, -1.00237, 0.34096882, 0.47510833, 0.009394105,
               -0.36422566]], dtype=np.float32),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [7]


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    layer = layers.RNN(layers.GRUCell(5))
    layer(X, mask=MASK, initial_state=tensors(layers, STATES))  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    steps.add(layer(X, mask=MASK, initial_state=tensors(layers, STATES)))


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


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
