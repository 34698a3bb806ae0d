#!/usr/bin/env python
"""d-0007: an error discrepancy between keras3 and tf_keras.

`RNN(SimpleRNNCell(2))` on a float32 input of shape (2, 3, 3) with an initial_state: keras3
raises ValueError (Passed in object [[-1.9033443 0.07976729]) where tf_keras raises nothing.

Found: step 0: the implementation raises ValueError: Passed in object [[-1.9033443 0.07976729]
[-0.182584 -0.5070952 ]] of type 'ndarray', not tf.Tensor or tf.Variable or ExtensionType.; the
oracle does not

Run: python d-0007.py [--impl NAME]   (NAME: a module path, or reference, tf_keras, keras3)
Exits 1 while the discrepancy persists, 0 once both sides agree.
"""
import argparse
import importlib
import re
import sys

import numpy as np

IMPL = "keras3"
ORACLE = "tf_keras"

X = np.array([[[0.71931696, 0.20316437, -0.5199672],
               [-0.39148158, 0.40783587, -1.000717],
               [-1.2859633, -1.2220773, -0.2030824]],
              [[-1.7616397, -0.10646271, -0.6803298],
               [1.9351912, 0.27308518, -1.539719],
               [-0.035821114, 1.3595634, -1.5811284]]], dtype=np.float32)
STATES = [
    np.array([[-1.9033443, 0.07976729],
              [-0.182584, -0.5070952]], dtype=np.float32),
]
WEIGHTS = [
    np.array([[-0.07897734, 0.41940275],
              [0.7734663, -0.014928613],
              [0.3289627, 0.33208275]], dtype=np.float32),
    np.array([[-0.1223632, -1.4581635],
              [-0.034358036, -0.27596882]], dtype=np.float32),
    np.array([0.32106593, 0.53845954], dtype=np.float32),
]

# Per step: the rounding steps behind its results (timesteps + 1 per cell, per call whose states
# it carries), which the value bound below grows with.
ROUNDING_STEPS = [4]

# The loss differentiated: sum(c * y) over every returned tensor y, c drawn per call from
# this seed (rnnconf's conformance/gradients.py cotangents_for); gradients are held to
# GRADIENT_STEPS times each step's rounding steps.
SEED = 0
GRADIENT_STEPS = 2


def run(layers, steps):
    """The case on the namespace `layers`; each step's result goes to `steps`."""
    layer = layers.RNN(layers.SimpleRNNCell(2))
    layer(X, initial_state=tensors(layers, STATES))  # builds the weights, replaced next
    layer.set_weights(WEIGHTS)
    differentiate(steps, layers, layer, X, at=0, initial_state=tensors(layers, STATES))


# ---- running both sides and comparing them: the same in every reproducer ---------------------
SHORT_NAMES = {"reference": "impl", "tf_keras": "tf_keras.layers", "keras3": "keras.layers"}


def namespace(name):
    """The layers namespace NAME stands for: a module path, module:attribute, or a short name."""
    module, _, attribute = SHORT_NAMES.get(name, name).partition(":")
    layers = importlib.import_module(module)
    return getattr(layers, attribute) if attribute else layers


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
    if tf_keras is not None and issubclass(layers.RNN, tf_keras.layers.Layer):
        return tf_gradients
    if keras is not None and hasattr(keras, "ops") and issubclass(layers.RNN, keras.Layer):
        found = {"tensorflow": tf_gradients, "jax": jax_gradients, "torch": torch_gradients}.get(keras.backend.backend())
        if found is not None:
            return found
    raise NotImplementedError("no automatic differentiation known for this namespace")


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

    def leaf(a):
        return torch.tensor(np.asarray(a), requires_grad=True)
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
    loss = sum((torch.as_tensor(ci) * y).sum() for ci, y in zip(c, flat))
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
        found += gradient_differences(i, expected, actual)
    if len(expected) != len(actual) and not found:
        found.append(f"expected {len(expected)} step results, got {len(actual)}")
    return found


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
    print_gradient_differences(*sides)
    found = differences(*sides)
    for line in found:
        print(line)
    print("discrepancy persists" if found else "no discrepancy: both sides agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
