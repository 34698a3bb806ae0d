"""The few NumPy operations whose shape errors must read like the oracle's TensorFlow ops.

NumPy reports a bad operand shape as a ValueError naming a gufunc signature; TensorFlow raises
InvalidArgumentError naming both operands' shapes. The built-in cells use `matmul` and `add` where a
wrong-width (ERR-38) or wrong-batch (ERR-39) initial state first meets the layer's own tensors, and
loop.py uses `dims_text` for the mask's `where` (ERR-43). The arithmetic is NumPy's own.
"""
from .errors import InvalidArgumentError


def dims_text(x):
    """A shape as TensorFlow's error messages print it: [2,5]."""
    return ",".join(str(d) for d in getattr(x, "shape", ()))


def matmul(a, b):
    try:
        return a @ b
    except ValueError as e:
        raise InvalidArgumentError(
            f"Matrix size-incompatible: In[0]: [{dims_text(a)}], In[1]: [{dims_text(b)}] [Op:MatMul]") from e


def add(a, b):
    try:
        return a + b
    except ValueError as e:
        raise InvalidArgumentError(f"Incompatible shapes: [{dims_text(a)}] vs. [{dims_text(b)}] [Op:AddV2]") from e
