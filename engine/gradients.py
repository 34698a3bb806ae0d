"""Gradients of the shared loss (spec/gradients.md): the adapter hook, its framework defaults, and what
the rest of rnnconf needs to know about a case that differentiates.

The hook (an optional attribute of the namespace, README's protocol table):

    rnnconf_gradients(layer, inputs, kwargs, cotangents) -> (result, gradients)

calls `layer(inputs, **kwargs)` once, as a user's training step would, and differentiates
L = sum_i sum(c_i * y_i) over the flat returned tensors y_i (the output, then the states with
`return_state`), where `cotangents(flat)` gives the c_i from the NumPy values of the y_i. `kwargs`
holds the call's mask, training, initial_state and constants as execute.Runner passes them.
`gradients` is {"inputs": dL/dinputs, "initial_state": [dL/ds per flat state] or None (none given),
"constants": [dL/dc per constant] or None, "weights": [dL/dw per trainable weight, in layer.weights
order]}; any entry may be None where the quantity is disconnected (compared as zeros).

Defaults for what rnnconf knows: tf_keras and Keras 3 on TensorFlow differentiate with
tf.GradientTape, Keras 3 on JAX with jax.vjp of a stateless call, Keras 3 on torch with autograd; the
reference (impl) brings its own (impl.gradients: back-propagation through time in NumPy). Keras 3 on
NumPy and the converters have no automatic differentiation: the hook is missing, Runner raises
NotImplementedError("gradients ..."), and judge counts the case unsupported, never failed.
"""
import numpy as np

HOOK = "rnnconf_gradients"
UNSUPPORTED = "gradients (the implementation has no rnnconf_gradients hook and no known automatic differentiation)"
PREFIX = "d "  # the compared paths of gradients: "d inputs", "d initial_state[0]", "d weights[2]"


# ---- the cotangents of a case ---------------------------------------------------------------------
def cotangents_for(case, step_index):
    """`cotangents(flat)` for one call of `case`: N(0, 1) arrays shaped and typed like the returned
    tensors, from the case's seed (both sides draw the same)."""
    def cotangents(flat):
        rng = np.random.default_rng([case["seed"], step_index, 5])
        return [rng.standard_normal(np.shape(y)).astype(np.asarray(y).dtype if np.asarray(y).dtype.kind == "f"
                                                           else np.float32) for y in flat]
    return cotangents


def flat_leaves(nest):
    """Leaves of nested lists and tuples, in order."""
    if isinstance(nest, (list, tuple)):
        return [leaf for item in nest for leaf in flat_leaves(item)]
    return [nest]


# ---- the compared quantities ----------------------------------------------------------------------
def named_leaves(grads):
    """(path, array or None) per gradient, paths as compare.py reports them."""
    out = [(f"{PREFIX}inputs", grads.get("inputs"))]
    for key in ("initial_state", "constants", "weights"):
        for i, g in enumerate(grads.get(key) or []):
            out.append((f"{PREFIX}{key}[{i}]", g))
    return out


def quantity(path):
    """What a compared path differentiates: "inputs", "initial_state", "weights"... (None: not a gradient)."""
    if not path.startswith(PREFIX):
        return None
    return path[len(PREFIX):].split("[", 1)[0]


def core(path):
    """A gradient's part of a failure's fingerprint core ("gradient of the weights"); None for a result."""
    what = quantity(path)
    return None if what is None else f"gradient of the {what}"


def to_numpy_grads(grads, to_numpy):
    def convert(g):
        return None if g is None else to_numpy(g)
    return {"inputs": convert(grads.get("inputs")),
            "initial_state": None if grads.get("initial_state") is None else [convert(g) for g in grads["initial_state"]],
            "constants": None if grads.get("constants") is None else [convert(g) for g in grads["constants"]],
            "weights": [convert(g) for g in grads.get("weights") or []]}


# ---- which clauses a differentiating case reaches ------------------------------------------------
def exercised(case):
    """The GRAD clause IDs a case reaches (none unless it differentiates)."""
    if not case.get("gradients") or case.get("embedding"):
        return set()
    flags = case["flags"]
    ids = {"GRAD-01", "GRAD-02"}
    if case["initial_state"] or any(s.get("initial_state") for s in case["steps"]):
        ids.add("GRAD-03")
    if case["constants"]:
        ids.add("GRAD-04")
    if case["mask"] is not None:
        ids.add("GRAD-05")
    if any(flags.get(f) for f in ("go_backwards", "unroll", "time_major")):
        ids.add("GRAD-06")
    if flags.get("return_sequences") or flags.get("return_state"):
        ids.add("GRAD-07")
    if flags.get("stateful"):
        ids.add("GRAD-08")
    if case["training"] and any(c.get("dropout") or c.get("recurrent_dropout") for c in case["cells"]):
        ids.add("GRAD-09")
    if case["dtype"] == "float64":
        ids.add("GRAD-10")
    return ids


def blamed(clauses, mismatches):
    """The clauses a failing example counts against: only its GRAD clauses where every mismatch is a
    gradient's (the forward pass agreed), all of them otherwise."""
    real = [m for m in mismatches if getattr(m, "kind", None) != "inconclusive"]
    if real and all(quantity(m.path) for m in real):
        grad = [c for c in clauses if c.startswith("GRAD-")]
        return grad or list(clauses)
    return list(clauses)


# ---- the framework defaults -----------------------------------------------------------------------
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


def keras3_default(backend):
    """The default hook of Keras 3 on `backend`, or None (NumPy has no automatic differentiation)."""
    return {"tensorflow": tf_gradients, "jax": jax_gradients, "torch": torch_gradients}.get(backend)
