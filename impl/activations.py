"""Keras 2 activations, by name or callable (`activations.get`)."""
import numpy as np


def linear(x):
    return x


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    # The tanh form never overflows and is several times faster than splitting by sign.
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def hard_sigmoid(x):
    # Keras 2 definition: clip(0.2 x + 0.5, 0, 1).
    return np.clip(0.2 * x + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)


def relu(x):
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def selu(x):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return (scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))).astype(x.dtype, copy=False)


def softplus(x):
    return np.logaddexp(x, 0).astype(x.dtype, copy=False)


def softsign(x):
    return x / (1 + np.abs(x))


def swish(x):
    return x * sigmoid(x)


def exponential(x):
    return np.exp(x)


_BY_NAME = {f.__name__: f for f in (linear, tanh, sigmoid, hard_sigmoid, relu, elu, selu, softplus,
                                     softsign, swish, exponential)}
_BY_NAME["silu"] = swish


def get(identifier):
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown activation function: '{identifier}'. Known: {sorted(_BY_NAME)}")
