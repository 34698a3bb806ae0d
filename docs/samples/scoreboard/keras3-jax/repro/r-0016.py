#!/usr/bin/env python
"""r-0016: a value discrepancy between keras3-jax and tf_keras.

`RNN(SimpleRNNCell(3), stateful=True, return_state=True)` on a float32 input of shape (3, 5, 4);
steps: call, call: keras3-jax's results differ from tf_keras's beyond rounding.

Found: keras3-jax differs from tf_keras: value at step 1 output: max abs diff 0.000814 (max rel
0.0317) at (0, 1): expected 0.7478007674217224, got 0.7476617693901062 value at step 1 state[0]:
max abs diff 0.000814 (max rel 0.0317) at (0, 1): expected 0.7478007674217224, got
0.7476617693901062 value at step 1 d inputs: max abs diff 0.00168 (max rel 0.975) at (0, 0, 3):
expected 0.035698480904102325

Run: python r-0016.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Both sides run in this process: use an environment with target keras3-jax's pins, keras==3.15.1
jax==0.10.2 jaxlib==0.10.2 numpy==2.4.6, and the oracle's, tensorflow==2.21.0 tf-keras==2.21.0.
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import os
import re
import sys

import numpy as np

# The implementation as target keras3-jax runs it (set before it is imported):
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

IMPL = "keras3"
ORACLE = "tf_keras"

X0 = np.array([[[-0.18723045, -0.9402854, 1.0354865, -0.89751744],
                [1.4846891, -1.4227805, -0.4749286, -0.5016112],
                [-0.2610015, 0.6246207, -1.9545305, 0.23643836],
                [-0.40347022, -2.5608227, -0.8666989, -0.2689077],
                [1.0446317, -1.1220635, 1.8005859, 0.69032556]],
               [[1.7878578, -1.2899027, 0.44417292, -0.44044954],
                [-1.1226717, -0.2555927, -1.2445091, 0.77596986],
                [-1.5350484, -0.82934326, -1.7820817, 1.0985868],
                [2.4406962, 0.23756926, -0.26494253, -1.6003834],
                [-0.023175986, -0.006405209, -0.14614548, 0.0009746741]],
               [[1.855918, 0.5850269, 0.9485692, -0.29528034],
                [1.3278497, 2.241477, -1.1774666, 0.6161454],
                [0.36595976, 0.3806221, -1.8258044, 0.81779635],
                [-0.78359526, 2.1109128, -0.19314303, 2.076648],
                [-0.5347952, -0.39518735, 0.40847993, -0.3403705]]], dtype=np.float32)
WEIGHTS = [
    np.array([[0.14016886, -0.42523935, -0.13786072],
              [-0.35474384, 0.8942399, -0.06597218],
              [-0.13247097, -0.42115057, -0.19915813],
              [0.53896856, -0.056603782, 1.2642641]], dtype=np.float32),
    np.array([[0.5724415, 0.44202477, -0.6733757],
              [0.09636775, 0.36993673, -0.102764316],
              [0.030298034, 0.95575804, -0.15209083]], dtype=np.float32),
    np.array([-0.4964653, 0.52142256, -0.12877151], dtype=np.float32),
]
X1 = np.array([[[-0.8321858, 1.2009953, 0.534448, 1.4843963],
                [1.1210216, 0.29634452, -0.03754033, 2.8471437],
                [0.7831979, -0.8681745, -0.885955, -1.2808338],
                [0.5050734, 0.28461093, -1.1344858, -1.2209787],
                [-0.5246861, 0.7760424, -1.2150216, -0.8806708]],
               [[0.12528278, 0.35379773, 0.66633314, -2.1438391],
                [0.034994304, 0.16972168, -0.07041552, 0.48765746],
                [0.46126592, 1.7308718, -1.7972909, -0.34267727],
                [-1.0678245, 0.71663046, -1.2269881, -0.32529232],
                [0.9962119, 1.1744511, -3.0849626, 0.6424955]],
               [[-1.4369239, 0.47318357, -0.28242493, 0.44874418],
                [-0.34558135, 0.1760107, -0.24358103, -1.1199996],
                [-0.5275056, 0.664096, 0.43135878, -1.2533627],
                [-1.1946913, 0.11745967, 0.28640866, -0.36893836],
                [-0.3675848, 1.2530959, 0.9491137, -0.15782623]]], dtype=np.float32)

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [6, 12]

# How the harness below judges this case:
VALUES_COMPARED = True  # values are held to the rounding bound of ROUNDING_STEPS
UNDECIDED = False  # True: agreeing structure leaves a distribution's discrepancy open (exit 2)
FACTS = None  # no catalogued facts to compare: an error's class is what counts
TIMEOUT_S = None  # seconds the implementation may run
# The loss differentiated: sum(c * y) over every returned tensor y, c drawn per call from
# this seed (rnnconf's engine/gradients.py cotangents_for); gradients are held to
# GRADIENT_STEPS times each step's rounding steps.
GRADIENTS = True
SEED = 6649
GRADIENT_STEPS = 2


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    def build(**batch_size):
        return layers.RNN(layers.SimpleRNNCell(3), stateful=True, return_state=True, **batch_size)
    layer = stateful_layer(build, batch_input_shape=(3, 5, 4))
    layer(X0)  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    layer.reset_states()  # zero states, as on a new layer
    differentiate(steps, layers, layer, X0, at=0)
    differentiate(steps, layers, layer, X1, at=1)


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


def flat_leaves(nest):
    """Leaves of nested lists and tuples, in order."""
    if isinstance(nest, (list, tuple)):
        return [leaf for item in nest for leaf in flat_leaves(item)]
    return [nest]

def _trainable(layer):
    return [w for w in layer.weights if getattr(w, "trainable", True)]

def tf_gradients(layer, inputs, kwargs, cotangents):
    """tf.GradientTape around one eager call (tf_keras, and Keras 3 on TensorFlow)."""
    import tensorflow as tf
    x = tf.constant(inputs)
    # Tensors to watch: Keras 3 is handed NumPy states and constants (no rnnconf_to_tensor), tf_keras tensors.
    kwargs = {k: (tf.nest.map_structure(tf.convert_to_tensor, v) if k in ("initial_state", "constants") and v is not None
                  else v) for k, v in kwargs.items()}
    states = flat_leaves(kwargs.get("initial_state")) if kwargs.get("initial_state") is not None else None
    constants = list(kwargs.get("constants") or []) or None
    # tf_keras' weights are tf.Variables; Keras 3's wrap one in `.value`.
    weights = [w if isinstance(w, tf.Variable) else w.value for w in _trainable(layer)]
    with tf.GradientTape() as tape:
        tape.watch(x)
        for t in (states or []) + (constants or []):
            tape.watch(t)
        for w in weights:
            tape.watch(w)
        result = layer(x, **kwargs)
        flat = tf.nest.flatten(result)
        c = cotangents([np.asarray(y) for y in flat])
        loss = tf.add_n([tf.reduce_sum(tf.cast(ci, y.dtype) * y) for ci, y in zip(c, flat)])
    sources = [x] + (states or []) + (constants or []) + weights
    grads = tape.gradient(loss, sources)
    n_s, n_c = len(states or []), len(constants or [])
    return result, {"inputs": grads[0],
                    "initial_state": None if states is None else grads[1:1 + n_s],
                    "constants": None if constants is None else grads[1 + n_s:1 + n_s + n_c],
                    "weights": grads[1 + n_s + n_c:]}

def jax_gradients(layer, inputs, kwargs, cotangents):
    """jax.vjp of Keras 3's stateless call on JAX; a stateful layer's new states are assigned after."""
    import jax
    import jax.numpy as jnp
    kwargs = dict(kwargs)
    init, constants = kwargs.pop("initial_state", None), kwargs.pop("constants", None)
    init_leaves, init_tree = jax.tree_util.tree_flatten(init)
    trainable = list(layer.trainable_variables)
    non_trainable = list(layer.non_trainable_variables)
    frozen = [v.value for v in non_trainable]

    def forward(x, states, consts, weights):
        call_kwargs = dict(kwargs)
        if init is not None:
            call_kwargs["initial_state"] = jax.tree_util.tree_unflatten(init_tree, states)
        if constants is not None:
            call_kwargs["constants"] = consts
        result, new_frozen = layer.stateless_call(weights, frozen, x, **call_kwargs)
        return jax.tree_util.tree_leaves(result), (result, new_frozen)

    flat, vjp, (result, new_frozen) = jax.vjp(
        forward, jnp.asarray(inputs), [jnp.asarray(s) for s in init_leaves],
        None if constants is None else [jnp.asarray(c) for c in constants], [v.value for v in trainable],
        has_aux=True)
    c = cotangents([np.asarray(y) for y in flat])
    d_x, d_states, d_consts, d_weights = vjp([jnp.asarray(ci) for ci in c])
    for variable, value in zip(non_trainable, new_frozen):
        variable.assign(value)
    by_id = {id(v): g for v, g in zip(trainable, d_weights)}
    return result, {"inputs": d_x, "initial_state": None if init is None else list(d_states),
                    "constants": None if constants is None else list(d_consts),
                    "weights": [by_id.get(id(w)) for w in _trainable(layer)]}

def torch_gradients(layer, inputs, kwargs, cotangents):
    """torch.autograd.grad of one call (Keras 3 on torch)."""
    import torch
    kwargs = dict(kwargs)

    def leaf(a):  # torch takes no NumPy view with negative strides (a reversed sequence): copy it
        return torch.tensor(np.ascontiguousarray(a), requires_grad=True)
    x = leaf(inputs)
    states = constants = None
    if kwargs.get("initial_state") is not None:
        states = [leaf(s) for s in flat_leaves(kwargs["initial_state"])]
        it = iter(states)
        kwargs["initial_state"] = _rebuild(kwargs["initial_state"], it)
    if kwargs.get("constants"):
        constants = [leaf(c) for c in kwargs["constants"]]
        kwargs["constants"] = constants
    weights = [w.value for w in _trainable(layer)]
    result = layer(x, **kwargs)
    flat = flat_leaves(result)
    c = cotangents([y.detach().cpu().numpy() for y in flat])
    loss = sum((torch.as_tensor(np.ascontiguousarray(ci)) * y).sum() for ci, y in zip(c, flat))
    sources = [x] + (states or []) + (constants or []) + weights
    grads = torch.autograd.grad(loss, sources, allow_unused=True)
    n_s, n_c = len(states or []), len(constants or [])
    return result, {"inputs": grads[0], "initial_state": None if states is None else list(grads[1:1 + n_s]),
                    "constants": None if constants is None else list(grads[1 + n_s:1 + n_s + n_c]),
                    "weights": list(grads[1 + n_s + n_c:])}

def _rebuild(nest, leaves):
    if isinstance(nest, (list, tuple)):
        return type(nest)(_rebuild(item, leaves) for item in nest)
    return next(leaves)


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
