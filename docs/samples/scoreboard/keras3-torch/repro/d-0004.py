#!/usr/bin/env python
"""d-0004: an error discrepancy between keras3-torch and tf_keras.

`RNN(LSTMCell(5), go_backwards=True, unroll=True)` on a float32 input of shape (2, 8, 1) with a
mask: keras3-torch raises AttributeError ('tuple' object has no attribute 'shape') where
tf_keras raises nothing.

Found: step 0: the implementation raises AttributeError: 'tuple' object has no attribute
'shape'; the oracle does not

Run: python d-0004.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Both sides run in this process: use an environment with target keras3-torch's pins,
keras==3.15.1 torch==2.13.0 numpy==2.4.6, and the oracle's, tensorflow==2.21.0 tf-keras==2.21.0.
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import os
import re
import sys

import numpy as np

# The implementation as target keras3-torch runs it (set before it is imported):
os.environ.setdefault("KERAS_BACKEND", "torch")

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[0.7349276],
               [0.17872338],
               [0.16313589],
               [1.5777762],
               [2.0720134],
               [0.7623662],
               [2.5116978],
               [0.37138185]],
              [[0.48382142],
               [-0.69380313],
               [-1.9920621],
               [-0.32461673],
               [1.3111681],
               [0.9740821],
               [3.2398877],
               [0.48775434]]], dtype=np.float32)
MASK = np.array([[0, 0, 0, 0, 0, 0, 0, 0],
                 [0, 0, 0, 0, 0, 1, 1, 1]], dtype=bool)
WEIGHTS = [
    np.array([[0.366964, -0.3909547, 0.15922354, -0.8883007, -0.95215803, 0.79195404, -0.10578313,
               -0.3639029, -0.7808374, 3.238839, -0.35604304, -1.5856304, 0.23063365, 1.0996945,
               1.5072603, -1.9772472, -1.2360123, -0.46302143, 0.10033093,
               -0.19241215]], dtype=np.float32),
    np.array([[0.1650815, -0.86035776, 0.18366674, 0.16166224, -0.075587414, -0.080284685,
               -0.032035403, -0.08276879, 0.91324, 1.0837216, -0.1503669, 0.55420774, 0.35262257,
               -1.0859551, 1.0058101, -0.04099546, -0.4274479, -0.2351553, -0.1418083, 0.13235445],
              [0.36827666, -0.32684466, -0.28552967, 0.036561105, -0.36603847, -0.5821634,
               -0.2948395, 0.369984, 0.31260136, 0.6770289, 0.74071115, -0.6779345, -0.3239846,
               0.44607717, -0.17882508, -0.23701383, -0.05554724, -0.39538646, -0.42961776,
               -0.017229559],
              [0.8931677, -0.9249472, 0.077164724, 0.84849334, 0.7153011, 0.37627453, 0.62162375,
               -0.75252557, 0.4536706, -0.038443286, 0.4779034, 0.503664, -0.04782104, -1.1685692,
               -0.028973142, -0.31729668, 0.4417259, -0.2193151, -1.105644, -1.0225503],
              [-1.0024472, 0.17984644, -0.09487466, -0.25420675, -0.117944635, 0.12770174,
               -0.23825763, -0.098783374, 0.14841674, 0.10158876, 1.3632367, -0.27821591, -0.46446,
               -0.36174873, 0.36601546, 0.5966441, -0.031537574, -0.23936927, 0.56096894,
               0.58126503],
              [1.8100476, 0.6014735, 1.0204908, -0.050747953, -1.2684608, -0.4310101, -0.6425408,
               0.8662048, -0.7029324, 0.5313419, 0.13112359, 0.66513443, -0.12379542, -0.4877631,
               0.960285, 0.10980073, 0.13086805, 0.5198955, -0.583918,
               -0.18667346]], dtype=np.float32),
    np.array([-1.2308815, -0.08029248, -0.6884126, 0.58632785, 0.050758597, 0.33842093, -0.09785431,
              -0.17647922, -0.76356447, 0.69917905, -0.34852573, 0.22248216, 0.45789877, 1.0457739,
              0.5753372, 0.15904592, 0.26344317, 0.65764856, -0.18423605,
              1.2030588], dtype=np.float32),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [9]


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    layer = layers.RNN(layers.LSTMCell(5), go_backwards=True, unroll=True)
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
