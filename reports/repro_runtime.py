"""The harness of every standalone reproducer: run a case on two layers namespaces (the oracle's and the
implementation's), compare what they return the way rnnconf's judge does, print what differs, and exit
1 while anything does, 0 when both sides agree, 2 when only a distribution could tell them apart.

This is ordinary code, imported and tested as such. repro_harness.py copies its parts (each opened
by a "# ---- part NAME" line) into every reproducer, so that a reproducer stays one file that needs
no rnnconf; a part a case does not use is left out (stateful layers, tensors, gradients, facts,
timeout). What varies between reproducers is not written into these functions but read from the
reproducer's own module-level settings at run time: the "settings" part below shows them with the
values the tests start from, and is never copied.
"""
import argparse
import importlib
import os
import re
import signal
import sys

import numpy as np

# The framework defaults of differentiation: the very functions rnnconf runs, copied into a reproducer
# that differentiates (repro_harness.py).
from rnnconf.engine.gradients import _rebuild, _trainable, flat_leaves, jax_gradients, tf_gradients, torch_gradients

GRADIENT_FUNCTIONS = (flat_leaves, _trainable, tf_gradients, jax_gradients, torch_gradients, _rebuild)


# ---- part settings: each reproducer defines these itself ---------------------------------------------
IMPL = "reference"  # the implementation's namespace (--impl)
ORACLE = "tf_keras"  # the oracle's (--oracle)
ROUNDING_STEPS = []  # per step: the rounding steps behind its results, which the value bound grows with
VALUES_COMPARED = True  # False under dropout while training: the values are random on both sides
UNDECIDED = False  # whether agreeing structure leaves the verdict open (exit 2): a distribution differs
FACTS = None  # the compiled pattern of the oracle's error message, whose named groups are its facts
FACT_NAMES = ()  # the groups of FACTS the implementation's message must state
TIMEOUT_S = None  # seconds the implementation may run before the script ends (None: no limit)
GRADIENTS = False  # whether the script differentiates (differentiate() steps) and compares gradients
SEED = 0  # the loss's cotangents are drawn from this seed
GRADIENT_STEPS = 1  # gradients are held to GRADIENT_STEPS times each step's rounding steps


def run(layers, steps):
    """The case on the namespace `layers`, each step's result added to `steps`: every reproducer writes its own."""
    raise NotImplementedError("a reproducer defines run(layers, steps)")


# ---- part namespace ------------------------------------------------------------------------------------
SHORT_NAMES = {"reference": "rnnconf.impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers


def builds_layers_of(layers, base):
    """Whether the namespace's RNN is a subclass of `base`; a converter's RNN may be a factory function."""
    return isinstance(layers.RNN, type) and issubclass(layers.RNN, base)


# ---- part stateful ------------------------------------------------------------------------------------
def stateful_layer(build, batch_input_shape):
    """build(batch_input_shape=...): a stateful layer given its batch size Keras 2's way; where the
    namespace has no such argument (Keras 3), build(): the layer's first call fixes its batch size."""
    try:
        return build(batch_input_shape=batch_input_shape)
    except (TypeError, ValueError) as error:
        if "batch_input_shape" not in str(error):
            raise
    return build()


# ---- part tensors -------------------------------------------------------------------------------------
def tensors(layers, nest):
    """Initial states or constants (nested as given) for `layers`: tf_keras takes NumPy inputs and
    masks, but wants tensors here."""
    if isinstance(nest, (list, tuple)):
        return type(nest)(tensors(layers, x) for x in nest)
    tf_keras = sys.modules.get("tf_keras")
    if getattr(layers, "rnnconf_to_tensor", None) is not None:  # a namespace's own conversion
        return layers.rnnconf_to_tensor(nest)
    if tf_keras is not None and builds_layers_of(layers, tf_keras.layers.Layer):
        return tf_keras.backend.constant(nest, dtype=nest.dtype.name)
    return nest


# ---- part run -----------------------------------------------------------------------------------------
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
    """layer.states, or None where the layer keeps none (Keras 3 says None, Keras 2 one None per state,
    nested per cell in a stack)."""
    def none(x):
        return all(none(s) for s in x) if isinstance(x, (list, tuple)) else x is None
    return None if none(layer.states) else list(layer.states)


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


# ---- part compare -------------------------------------------------------------------------------------
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


# ---- part errors --------------------------------------------------------------------------------------
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


# ---- part facts ---------------------------------------------------------------------------------------
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


# ---- part timeout -------------------------------------------------------------------------------------
def hung(*_):
    print(f"the implementation has not finished after {TIMEOUT_S} s")
    print("discrepancy persists")
    os._exit(1)


# ---- part gradients -----------------------------------------------------------------------------------
def cotangents_at(at):
    """The loss's weights c for the results of the call at step `at`."""
    def cotangents(flat):
        rng = np.random.default_rng([SEED, at, 5])
        return [rng.standard_normal(np.shape(y)).astype(np.asarray(y).dtype if np.asarray(y).dtype.kind == "f"
                                                           else np.float32) for y in flat]
    return cotangents


def differentiate(steps, layers, layer, x, at, **kwargs):
    """Call `layer` on `x` and differentiate the loss: the result goes to `steps`, its gradients
    (inputs, each initial state, each constant, each trainable weight) to steps.gradients."""
    result, grads = gradients_of(layers)(layer, x, kwargs, cotangents_at(at))
    named = [("d inputs", grads.get("inputs"))] + [
        (f"d {key}[{i}]", g) for key in ("initial_state", "constants", "weights") for i, g in enumerate(grads.get(key) or [])]
    if not hasattr(steps, "gradients"):
        steps.gradients = {}
    steps.gradients[len(steps)] = [(name, numpy_of(g)) for name, g in named]
    steps.add(result)


def gradients_of(layers):
    """How to differentiate a layer of `layers`: its own hook, or its framework's automatic
    differentiation (tf.GradientTape, jax.vjp, torch autograd)."""
    own = getattr(layers, "rnnconf_gradients", None)
    if own is not None:
        return own
    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")
    if tf_keras is not None and builds_layers_of(layers, tf_keras.layers.Layer):
        return tf_gradients
    if keras is not None and hasattr(keras, "ops") and builds_layers_of(layers, keras.Layer):
        found = {"tensorflow": tf_gradients, "jax": jax_gradients, "torch": torch_gradients}.get(keras.backend.backend())
        if found is not None:
            return found
    raise NotImplementedError("no automatic differentiation known for this namespace")


def paired_gradients(i, expected, actual):
    """(name, oracle's, implementation's) per gradient of step i; None (disconnected) is zeros."""
    mine, theirs = getattr(actual, "gradients", {}).get(i), getattr(expected, "gradients", {}).get(i)
    if mine is None or theirs is None:
        return []
    pairs = []
    for (name, e), (_, a) in zip(theirs, mine):
        if e is None and a is None:
            continue
        pairs.append((name, np.zeros_like(a) if e is None else e, np.zeros_like(e) if a is None else a))
    return pairs


def gradient_differences(i, expected, actual):
    found = []
    mine, theirs = getattr(actual, "gradients", {}).get(i), getattr(expected, "gradients", {}).get(i)
    if (mine is None) != (theirs is None) or (mine and [n for n, _ in mine] != [n for n, _ in theirs]):
        return [f"step {i}: expected gradients of {[n for n, _ in theirs or []]}, got {[n for n, _ in mine or []]}"]
    for name, e, a in paired_gradients(i, expected, actual):
        if e.shape != a.shape or e.dtype != a.dtype:
            found.append(f"step {i} {name}: expected {describe(e)}, got {describe(a)}")
        elif (difference := value_difference(e, a, GRADIENT_STEPS * ROUNDING_STEPS[i])):
            found.append(f"step {i} {name}: {difference}")
    return found


def print_gradient_differences(expected, actual):
    """Per differentiated call, each gradient's largest difference between the two sides."""
    for i in sorted(getattr(expected, "gradients", {})):
        for name, e, a in paired_gradients(i, expected, actual):
            if e.shape == a.shape:
                diff = float(np.abs(e.astype(np.float64) - a.astype(np.float64)).max()) if e.size else 0.0
                print(f"  step {i} {name}: max abs difference {diff:.3g} (largest |oracle's| "
                      f"{float(np.abs(e).max()) if e.size else 0.0:.3g})")


# ---- part main ----------------------------------------------------------------------------------------
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
