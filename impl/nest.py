"""Nested structures and shapes, the way the RNN protocol uses them.

A state size is an int, a TensorShape (one high-dimensional state) or a list/tuple of those.
Lists and tuples nest; arrays, numbers and TensorShapes are leaves.
"""
import numpy as np


class TensorShape:
    """A fixed shape used as one `state_size`/`output_size` entry (CELL-05): never a list of states."""

    def __init__(self, dims):
        if isinstance(dims, TensorShape):
            dims = dims.dims
        elif isinstance(dims, (int, np.integer)):
            dims = [dims]
        self.dims = [None if d is None else _dimension(d) for d in dims]

    def as_list(self):
        return list(self.dims)

    def __iter__(self):
        return iter(self.dims)

    def __len__(self):
        return len(self.dims)

    def __getitem__(self, i):
        return self.dims[i]

    def __eq__(self, other):
        try:
            return self.dims == TensorShape(other).dims
        except TypeError:
            return NotImplemented

    def __repr__(self):
        return f"TensorShape({self.dims})"


def _dimension(value):
    """An int dimension; like TensorFlow, a float such as 2.5 is a TypeError, not truncated."""
    if isinstance(value, (bool, float)) or not hasattr(value, "__index__"):
        raise TypeError(f"Dimension value must be integer or None or have an __index__ method, got value "
                        f"'{value!r}' with type '{type(value)!r}'")
    return int(value.__index__())


def dims_of(size):
    """Trailing dims of one state/output size entry: 3 -> [3], TensorShape([2, 3]) -> [2, 3]."""
    if isinstance(size, TensorShape):
        return size.as_list()
    if isinstance(size, (list, tuple)):
        return [int(d) for d in size]
    return [int(size)]


_NESTS = (list, tuple)


def is_nested(x):
    return isinstance(x, _NESTS)


def is_multiple_state(state_size):
    """A list/tuple of sizes is several states; an int or a TensorShape is one."""
    return hasattr(state_size, "__len__") and not isinstance(state_size, TensorShape)


def flatten(x):
    # Leaves are appended in the loop, not recursed into: this runs several times per timestep.
    if not isinstance(x, _NESTS):
        return [x]
    out = []
    for item in x:
        if isinstance(item, _NESTS):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out


def pack_sequence_as(structure, flat):
    """Inverse of flatten: rebuild `structure` with the leaves of `flat`."""
    flat = list(flat)
    if not isinstance(structure, _NESTS) and len(flat) == 1:
        return flat[0]
    it = iter(flat)

    def build(s):
        if isinstance(s, _NESTS):
            items = [build(item) for item in s]
            return tuple(items) if isinstance(s, tuple) else items
        return next(it)

    try:
        packed = build(structure)
        complete = next(it, it) is it  # nothing left over
    except StopIteration:  # ran out
        complete = False
    if not complete:
        raise ValueError(f"Could not pack sequence. Structure had {len(flatten(structure))} atoms, but "
                         f"flat_sequence had {len(flat)} items.")
    return packed


def map_structure(fn, structure):
    if is_nested(structure):
        items = [map_structure(fn, s) for s in structure]
        return tuple(items) if isinstance(structure, tuple) else items
    return fn(structure)
