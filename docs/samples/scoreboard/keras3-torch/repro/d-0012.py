#!/usr/bin/env python
"""d-0012: an error discrepancy between keras3-torch and tf_keras.

`RNN([HdStateCell(4, rows=3, dtype="float64"), HdStateCell(4, rows=3, dtype="float64"),
HdStateCell(3, rows=3, dtype="float64")], dtype="float64")` on a float64 input of shape (3, 7,
3, 1): keras3-torch raises TypeError (int() argument must be a string, a bytes-like object or a
real number, not 'tuple') where tf_keras raises nothing.

Found: step 0: the implementation raises TypeError: int() argument must be a string, a
bytes-like object or a real number, not 'tuple'; the oracle does not

Run: python d-0012.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Both sides run in this process: use an environment with target keras3-torch's pins,
keras==3.15.1 torch==2.13.0 numpy==2.4.6, and the oracle's, tensorflow==2.21.0 tf-keras==2.21.0.
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import os
import re
import sys
from types import SimpleNamespace

import numpy as np

# The implementation as target keras3-torch runs it (set before it is imported):
os.environ.setdefault("KERAS_BACKEND", "torch")

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[[0.8377784604979208],
                [0.07079394279692827],
                [-0.8487582264463356]],
               [[-0.16433556526945625],
                [-1.2739640741625335],
                [-1.4821713248949941]],
               [[-0.9454959727483032],
                [1.132597614499642],
                [-0.3566527563579175]],
               [[1.7572313646504234],
                [0.15167393605549126],
                [0.2720981766681862]],
               [[-0.7677467874180613],
                [-1.2019283395759754],
                [-0.16285862164725015]],
               [[-1.2965690923128061],
                [0.26129545420604317],
                [-0.2200404689214591]],
               [[0.5152253575826321],
                [-0.365775545969488],
                [-0.46646682863312033]]],
              [[[1.3151023650330995],
                [0.9302414545722781],
                [0.33917463629412414]],
               [[-1.7146594877796548],
                [-0.49316126136302935],
                [-0.8333816824348689]],
               [[-1.894483839060534],
                [0.6088043656769566],
                [-0.7349442262893754]],
               [[0.2754917750776383],
                [0.16931574455499007],
                [-0.3630819306086824]],
               [[-1.2562539250147915],
                [-0.4325905986053762],
                [0.4209514586763309]],
               [[-0.7926759276806271],
                [0.37168668991963705],
                [-0.2529061756121861]],
               [[-1.358444423926059],
                [-0.4074724878008365],
                [0.33834665510972856]]],
              [[[0.7148609634946262],
                [-0.024162506885271898],
                [-0.8924248528646772]],
               [[0.2523225877254532],
                [0.11610830240387386],
                [0.7215133398958385]],
               [[0.7046329331718353],
                [-0.7340755842307074],
                [-1.34425226397874]],
               [[-1.1886666173213383],
                [1.516788338344235],
                [0.16907350158112192]],
               [[-1.0427476998908294],
                [-0.5993939968908043],
                [-0.8553926149025582]],
               [[1.0840117163434635],
                [-0.4207016588307381],
                [-1.2440395687712469]],
               [[1.6234305078719604],
                [0.8136033785818739],
                [-0.08007271927666564]]]])
WEIGHTS = [
    np.array([[0.24773591617403593, -0.7953486915691182, -2.1160911653619734, 0.7678555259497737]]),
    np.array([[0.45252741987059736, 0.09269935551023764, -0.6522797710605632, -1.7226839708839135],
              [1.5501309949044533, -0.6553005148685729, -0.2789308031769411, -0.40820699668949273],
              [-0.6139551464093769, 0.4733711142362147, -0.8308843538406423, -0.642189309563439],
              [0.4605354718334435, -0.6840578551174001, 1.1076976536664354, -0.14505089982132188]]),
    np.array([[1.7586323852809937, -0.3257267656530351, 0.562245342829407, 0.3270848688818787],
              [-1.7283439102547564, -0.15483879992878907, -0.3508101276395538, 0.3351203647768687],
              [-1.0972406741731808, -0.0773026411788652, 0.21427539818399438, -0.615171277087972],
              [0.9934405138375422, -1.6087251608518696, 0.29680161815917616, -0.6317406661828102]]),
    np.array([[-0.4068752833128843, 0.5554188795016298, -2.162322792866621, -0.9063436512216173],
              [0.5429540732510398, -0.007247684627366283, -0.6841990900027721, -1.1968825453820784],
              [-0.17800079145178183, -0.6177186264813784, 0.11300288955345071, 1.2442323501828005],
              [0.21351481339100564, -0.008898857534331771, 0.4262798777350312,
               0.06214936931894549]]),
    np.array([[-0.41576177667038205, -1.1204741634174549, 0.6067719734093937],
              [1.2124966934207562, -0.046159427044018826, -0.14658950994980846],
              [0.10383510118267864, -1.133192413525758, -0.8337725099839491],
              [-0.7932337248286248, 0.3672743082557737, 0.09160252618934588]]),
    np.array([[0.4624023922833131, -0.5231430362630191, -1.849216331327808],
              [-0.057431077399279364, -0.3255499051310223, 1.2813671697418312],
              [-0.7503586133102794, -0.047998224217192846, -0.0374523494880841]]),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [24]


def hd_state_cell(layers):
    """HdStateCell: a (rows, units) state and output."""
    ops = framework_ops(layers)

    class HdStateCell(layers.Layer):
        def __init__(self, units, rows=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = ops.shape([rows, units])
            self.output_size = ops.shape([rows, units])

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
    return HdStateCell


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    HdStateCell = hd_state_cell(layers)
    cells = [HdStateCell(4, rows=3, dtype="float64"), HdStateCell(4, rows=3, dtype="float64"),
             HdStateCell(3, rows=3, dtype="float64")]
    layer = layers.RNN(cells, dtype="float64")
    layer(X)  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    steps.add(layer(X))


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
            shape=tf.TensorShape,
        )
    elif keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):
        k = keras.ops
        ops = SimpleNamespace(
            dot=lambda x, w: k.tensordot(x, w, axes=1),
            tanh=k.tanh,
            shape=tuple,
        )
    else:
        ops = SimpleNamespace(
            dot=lambda x, w: x @ w,
            tanh=np.tanh,
            shape=tuple,
        )
    if getattr(layers, "ops", None) is not None:
        ops = SimpleNamespace(
            dot=layers.ops.dot,
            tanh=layers.ops.tanh,
            shape=ops.shape,
        )
    if getattr(layers, "TensorShape", None) is not None:
        ops.shape = layers.TensorShape
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
