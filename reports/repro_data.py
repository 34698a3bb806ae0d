"""A reproducer's data as Python source: literal arrays where they are short, an .npz beside it where not."""
import re

import numpy as np

from .repro_source import LITERAL_LIMIT, WIDTH, _flat, _py


# ---- data ------------------------------------------------------------------------------------------
class _Data:
    """The arrays the script uses (an array, or a list of arrays, per name), in order of first use;
    equal values share one name."""

    def __init__(self):
        self.items = []
        self.notes = {}  # name -> a comment above its definition

    def add(self, name, value):
        for known, held in self.items:
            if _same(held, value):
                return known
        taken = {n for n, _ in self.items}
        unique, k = name, 2
        while unique in taken:
            unique, k = f"{name}_{k}", k + 1
        self.items.append((unique, value))
        return unique

    def float_count(self):
        return sum(a.size for _, v in self.items for a in _flat(v) if np.issubdtype(a.dtype, np.floating))

    def code(self, npz_name, order=""):
        """(the definitions' source, the arrays stored in the .npz): float arrays go there when
        there are more than LITERAL_LIMIT numbers and `npz_name` is given. Definitions come in the
        order their names first appear in `order` (the code that uses them)."""
        to_file = npz_name is not None and self.float_count() > LITERAL_LIMIT
        stored, lines = {}, []
        if to_file:
            lines.append("# The arrays are in the .npz beside this script.")
            lines.append(f"DATA = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {_py(npz_name)}))")

        def source(key, array, column):
            if to_file and np.issubdtype(array.dtype, np.floating):
                stored[key] = array
                return f"DATA[{_py(key)}]"
            return _literal(array, column)
        def first_use(item):
            found = re.search(rf"\b{item[0]}\b", order)
            return found.start() if found else len(order)
        for name, value in sorted(self.items, key=first_use):
            if name in self.notes:
                lines.append(f"# {self.notes[name]}")
            lines.append(f"{name} = {_nest_code(value, 0, len(name) + 3, name, source)}")
        return "\n".join(lines), stored


def _nest_code(value, indent, column, key, source):
    """Source for an array, or a list / tuple nest of them (weights, initial states, constants)."""
    if not isinstance(value, (list, tuple)):
        return source(key, value, column)
    brackets = "[]" if isinstance(value, list) else "()"
    items = [_nest_code(v, indent + 4, indent + 4, f"{key}_{k}", source) for k, v in enumerate(value)]
    single = "," if isinstance(value, tuple) and len(value) == 1 else ""
    one = brackets[0] + ", ".join(items) + single + brackets[1]
    if "\n" not in one and column + len(one) <= WIDTH:
        return one
    pad = " " * (indent + 4)
    return brackets[0] + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + brackets[1]


def _same(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def _number(value, dtype):
    """A value as Python source that gives back exactly `value` once cast to `dtype`."""
    if dtype.kind == "b":
        return "1" if value else "0"
    if dtype.kind in "iu":
        return str(int(value))
    if not np.isfinite(value):
        return "np.nan" if np.isnan(value) else ("np.inf" if value > 0 else "-np.inf")
    if dtype == np.float64:
        return repr(float(value))
    text = str(dtype.type(value))  # NumPy's shortest repr for the dtype
    if dtype.type(float(text)) != value:  # parsed through a double it must round back to the value
        text = repr(float(value))
    return text


def _literal(array, column):
    """np.array(...) source for `array`; continuation lines align under its brackets, whose first
    sits at `column` + len("np.array(")."""
    array = np.asarray(array)
    dtype = array.dtype
    suffix = {"float64": "", "bool": ", dtype=bool"}.get(dtype.name, f", dtype=np.{dtype.name}")
    if array.size == 0:
        return f"np.zeros({_py(tuple(array.shape))}{suffix or ', dtype=np.float64'})"
    start = column + len("np.array(")
    # The closing brackets, the dtype and a list's comma follow the last row on its line.
    return f"np.array({_nested(array, start, dtype, len(suffix) + 2)}{suffix})"


def _nested(array, column, dtype, tail):
    """The nested list of `array`'s values, rows wrapped at WIDTH; `tail` characters follow its last
    row on the same line."""
    if array.ndim == 0:
        return _number(array.item(), dtype)
    if array.ndim == 1:
        items = [_number(v, dtype) for v in array]
        lines, line = [], "["
        for k, item in enumerate(items):
            last = k == len(items) - 1
            piece = item + ("]" if last else ", ")
            room = len(piece.rstrip()) + (tail if last else 0)
            if line.strip() not in ("", "[") and column + len(line) + room > WIDTH:
                lines.append(line.rstrip())
                line = " " + piece
            else:
                line += piece
        lines.append(line)
        return ("\n" + " " * column).join(lines)
    inner = [_nested(sub, column + 1, dtype, 1 if k < len(array) - 1 else tail + 1) for k, sub in enumerate(array)]
    return "[" + (",\n" + " " * (column + 1)).join(inner) + "]"
