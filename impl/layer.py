"""`Layer`: the base class of every layer and cell, and the base for users' custom cells.

Mirrors the parts of tf_keras' base Layer the RNN contract relies on: constructor keywords, weights
in creation order (`add_weight`, `get_weights`, `set_weights`), build-on-first-call, input specs,
autocasting floating inputs to the layer dtype, and upstream masks (`_keras_mask`).
"""
import functools
import inspect
import operator
import re
from collections import defaultdict

import numpy as np

from . import initializers
from .nest import TensorShape, flatten

_ALLOWED_KWARGS = {
    "input_dim", "input_shape", "batch_input_shape", "batch_size", "weights", "activity_regularizer",
    "autocast", "implementation", "name", "dtype", "trainable", "dynamic",
}
_name_counts = defaultdict(int)


def _unique_name(cls_name):
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls_name).lower()
    base = base.replace("simple_r_n_n", "simple_rnn").replace("r_n_n", "rnn").replace("g_r_u", "gru")
    base = base.replace("l_s_t_m", "lstm")
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def has_arg(fn, name):
    # As tf_keras' generic_utils.has_arg: a **kwargs catch-all does not count.
    return name in _parameter_names(getattr(fn, "__func__", fn))


@functools.lru_cache(maxsize=4096)
def _parameter_names(fn):
    """Cached per function: signature() is the slowest thing on the per-timestep path otherwise."""
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


class InputSpec:
    """Expected rank and/or shape of one input (None dims match anything)."""

    def __init__(self, ndim=None, shape=None):
        # Through TensorShape as in tf_keras: a float dimension is a TypeError here (LSTM's state_spec).
        self.shape = None if shape is None else tuple(TensorShape(shape).as_list())
        self.ndim = len(self.shape) if self.shape is not None else ndim

    def __repr__(self):
        return f"InputSpec(shape={self.shape}, ndim={self.ndim})"


class KerasArray(np.ndarray):
    """An ndarray that carries the mask computed upstream (MASK-02), as tf_keras tensors do."""

    _keras_mask = None


def with_mask(array, mask):
    out = np.asarray(array).view(KerasArray)
    out._keras_mask = mask
    return out


def _as_array(x):
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_as_array(v) for v in x) if isinstance(x, tuple) else [_as_array(v) for v in x]
    return np.asarray(x)


class Layer:
    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        for key in kwargs:
            if key not in _ALLOWED_KWARGS:
                raise TypeError("Keyword argument not understood:", key)
        self.name = name or _unique_name(type(self).__name__)
        self.dtype = np.dtype(dtype or "float32").name
        self.trainable = trainable
        self.built = False
        self.input_spec = None
        self._own_weights = []
        if "batch_input_shape" in kwargs:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif "input_shape" in kwargs:
            self._batch_input_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        else:
            self._batch_input_shape = None

    # ---- weights -------------------------------------------------------------------------------
    def add_weight(self, name=None, shape=(), dtype=None, initializer="glorot_uniform", **unused):
        """Create a weight; tf_keras arguments like regularizer/constraint are accepted and ignored."""
        shape = tuple(_dimension(d) for d in shape)
        value = np.asarray(initializers.get(initializer)(shape, dtype or self.dtype), dtype or self.dtype)
        holder = _Weight(name or f"weight_{len(self._own_weights)}", value)
        self._own_weights.append(holder)
        return holder.value

    def _sublayers(self):
        """Layers whose weights follow this layer's own, in Keras' tracking order."""
        return []

    def _weight_holders(self):
        holders = list(self._own_weights)
        for layer in self._sublayers():
            if isinstance(layer, Layer):
                holders.extend(layer._weight_holders())
        return holders

    @property
    def weights(self):
        return [h.value for h in self._weight_holders()]

    def get_weights(self):
        return [h.value.copy() for h in self._weight_holders()]

    def set_weights(self, weights):
        holders = self._weight_holders()
        if len(weights) != len(holders):
            raise ValueError(
                f"You called `set_weights(weights)` on layer \"{self.name}\" with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(holders)} weights. "
                f"Provided weights: {weights}")
        for holder, value in zip(holders, weights):
            value = np.asarray(value)
            if value.shape != holder.value.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {holder.value.shape} is not compatible with provided "
                    f"weight shape {value.shape}.")
            holder.value[...] = value

    # ---- calling ---------------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        inputs = _as_array(inputs)
        if "mask" in kwargs or self._call_has("mask"):
            if kwargs.get("mask") is None:
                upstream = [getattr(x, "_keras_mask", None) for x in flatten(inputs)]
                if any(m is not None for m in upstream):
                    kwargs["mask"] = upstream[0] if len(upstream) == 1 else upstream
                else:
                    kwargs.pop("mask", None)
        self._check_input_spec(inputs)
        if not self.built:
            shapes = [x.shape for x in inputs] if isinstance(inputs, list) else \
                tuple(x.shape for x in inputs) if isinstance(inputs, tuple) else inputs.shape
            self.build(shapes)
            self.built = True
        return self.call(self._autocast(inputs), *args, **kwargs)

    def _call_has(self, arg):
        return has_arg(self.call, arg)

    def _autocast(self, inputs):
        def cast(x):
            if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != self.dtype:
                return x.astype(self.dtype)
            return x
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(cast(x) for x in inputs) if isinstance(inputs, tuple) else [cast(x) for x in inputs]
        return cast(inputs)

    def _check_input_spec(self, inputs):
        if not self.input_spec:
            return
        flat = flatten(inputs)
        if len(flat) != len(self.input_spec):
            raise ValueError(
                f'Layer "{self.name}" expects {len(self.input_spec)} input(s), but it received '
                f"{len(flat)} input tensors. Inputs received: {inputs}")
        for i, (spec, x) in enumerate(zip(self.input_spec, flat)):
            if spec is None:
                continue
            shape = tuple(np.shape(x))
            if spec.ndim is not None and len(shape) != spec.ndim:
                raise ValueError(
                    f'Input {i} of layer "{self.name}" is incompatible with the layer: expected '
                    f"ndim={spec.ndim}, found ndim={len(shape)}. Full shape received: {shape}")
            if spec.shape is not None:
                for want, got in zip(spec.shape, shape):
                    if want is not None and want != got:
                        raise ValueError(
                            f'Input {i} of layer "{self.name}" is incompatible with the layer: expected '
                            f"shape={spec.shape}, found shape={shape}")


def _dimension(value):
    """One weight dimension, accepted as tf.TensorShape accepts it: an int or anything with __index__
    (a float units or a nested step shape is a TypeError there: ERR-32, ERR-36)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("Dimension value must be integer or None or have an __index__ method, "
                        f"got value '{value!r}' with type '{type(value)}'") from None


class _Weight:
    __slots__ = ("name", "value")

    def __init__(self, name, value):
        self.name = name
        self.value = value
