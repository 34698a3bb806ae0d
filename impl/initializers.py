"""Keras 2 default initializers: same distributions as tf_keras (not the same random stream)."""
import numpy as np

_rng = np.random.default_rng()


def seed(value):
    """Reseed the module's generator so a run of the reference is replayable: initial weights and
    the dropout masks of cells built afterwards without a seed of their own."""
    global _rng
    _rng = np.random.default_rng(value)


def draw_seed():
    """A seed for a new cell's own generator, from the module's."""
    return int(_rng.integers(2 ** 63))


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype):
    return np.zeros(shape, dtype)


def ones(shape, dtype):
    return np.ones(shape, dtype)


def glorot_uniform(shape, dtype):
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return _rng.uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(shape, dtype):
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978, dtype)


def he_normal(shape, dtype):
    fan_in, _ = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / fan_in) / 0.87962566103423978, dtype)


def uniform(shape, dtype):
    # Keras 2 'uniform' / 'random_uniform' default range.
    return _rng.uniform(-0.05, 0.05, shape).astype(dtype)


def random_normal(shape, dtype):
    return _rng.normal(0.0, 0.05, shape).astype(dtype)


def orthogonal(shape, dtype):
    # As tf_keras: QR of a normal matrix, sign-corrected, for the 2-D flattening of `shape`.
    rows = int(np.prod(shape[:-1]))
    cols = shape[-1]
    flat = (max(rows, cols), min(rows, cols))
    a = _rng.normal(0.0, 1.0, flat)
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(dtype)


def _truncated_normal(shape, stddev, dtype):
    values = _rng.normal(0.0, 1.0, shape)
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = _rng.normal(0.0, 1.0, bad.sum())
        bad = np.abs(values) > 2
    return (values * stddev).astype(dtype)


_BY_NAME = {
    "zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_normal": he_normal, "uniform": uniform, "random_uniform": uniform, "random_normal": random_normal,
    "normal": random_normal, "orthogonal": orthogonal,
}


def get(identifier):
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown initializer: '{identifier}'. Known: {sorted(_BY_NAME)}")
