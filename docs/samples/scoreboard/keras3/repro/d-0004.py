#!/usr/bin/env python
"""d-0004: an error discrepancy between keras3 and tf_keras.

`RNN([SimpleRNNCell(2, dtype="float64"), SimpleRNNCell(4, recurrent_dropout=0.25,
dtype="float64")], dtype="float64")` on a float64 input of shape (4, 6, 3) with training=True:
keras3 raises InvalidArgumentError (cannot compute Mul as input #1(zero-based) was expected to
be a double tensor but is a float tensor [Op:Mul] name:) where tf_keras raises nothing.

Found: step 0: the implementation raises InvalidArgumentError: cannot compute Mul as input
#1(zero-based) was expected to be a double tensor but is a float tensor [Op:Mul] name: ; the
oracle does not

Run: python d-0004.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import re
import sys

import numpy as np

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[-0.7689447887800349, 0.06909964285292096, 0.3341698872462045],
               [-0.616376095715317, 0.06601394722616705, 0.9822755816285115],
               [-0.20760759641163168, -0.263191666216068, 0.46510503749052057],
               [-1.3464467812272478, -0.02427643974897794, -0.6971285071501961],
               [0.33135934498837877, 1.6054745886474737, -1.910669721497039],
               [-0.8687255769414324, 0.3811167617195397, 1.1248617319042145]],
              [[0.21964360899675517, -0.8656485622089016, -2.1190348776851313],
               [2.081635538580657, 0.6734499525975286, 0.22953680373642546],
               [0.47509158886515834, -0.29562965215370324, 0.8182758107270132],
               [0.3537603118587368, -0.7701644049770606, 1.4539517656661873],
               [-0.07411856318976036, -0.18646687312633997, -1.4129336916005866],
               [-0.22954599827101282, -0.8337349404260028, 0.7347747958677571]],
              [[0.08250288268169154, 0.9163067070147152, 0.47706126423867606],
               [-0.8417045694028483, -2.7321088823088258, -0.024554229001235894],
               [0.475445726493381, 0.18648966808734774, 0.12170667815243084],
               [-0.635791803966747, 0.07279265501037939, 0.2713938449989493],
               [-0.435069090226112, 0.39204916872086926, 0.0825553305414246],
               [0.6038552230365911, -0.174388900320211, -0.822384472615763]],
              [[0.26516663971479126, 1.5748752921474198, 0.7789788952932771],
               [-0.6770027309680078, 0.07137688973122819, 0.13547974938962837],
               [1.0942995006200273, -1.1954232571330021, -0.2788439380940106],
               [0.4195251595126953, -0.51757276471645, -0.7282986125094516],
               [0.003311111436618471, 0.8166825924619523, -0.08897724333033348],
               [-1.1995761654756973, -0.9780282311779995, 1.588380727435183]]])
WEIGHTS = [
    np.array([[-0.2430854372007075, 1.206774731050483],
              [0.7661808742148595, 0.2181489751160779],
              [0.658975506891827, 0.9970763627737984]]),
    np.array([[-0.5820773339122721, -2.3882186175848243],
              [0.628687641948594, -0.5226083050222412]]),
    np.array([0.5962136565812053, -0.2541193275150643]),
    np.array([[-1.0764370963266991, 0.4179468490800476, -0.7793409602275442, -0.6057418920809688],
              [-1.3755747878509519, 1.897822448933603, 0.73452397462911, -0.2267751260119734]]),
    np.array([[1.2235768617582052, -0.7067717379450991, 0.30917982072473144, 0.23667471984204325],
              [-0.23673667717474906, -0.2828005454028636, -0.15197317290658127,
               -1.0719590998393498],
              [0.09685935077889356, 0.7178807073106183, 0.914263503966597, -0.34322399193897707],
              [0.037797733278950696, -0.061775352189020756, -0.08471480430002998,
               0.29882407160299135]]),
    np.array([0.40614498013848527, -0.378561943005888, 0.13690733312412265, -0.24098666116084042]),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [14]

# Dropout while training: both sides draw random masks, so values are not compared here
# (rnnconf compares their distributions, over hundreds of samples a side).
VALUES_COMPARED = False


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    cells = [layers.SimpleRNNCell(2, dtype="float64"),
             layers.SimpleRNNCell(4, recurrent_dropout=0.25, dtype="float64")]
    layer = layers.RNN(cells, dtype="float64")
    layer(X, training=True)  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    steps.add(layer(X, training=True))


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "rnnconf.impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


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
            elif VALUES_COMPARED and (difference := value_difference(x, y, ROUNDING_STEPS[i])):
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
