"""Python source of values, for the reproducers: literals, indentation, wrapped calls and the data
arrays a script defines (inline, or in an .npz beside it)."""
import json
import re

import numpy as np

LITERAL_LIMIT = 200  # numbers of data beyond which the float arrays go to the .npz
WIDTH = 100


def indent(text, spaces=4):
    return "\n".join((" " * spaces + line) if line else line for line in text.split("\n"))



def py(value):
    """Python source for a plain value, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    return repr(value)



def call_source(head, args, brackets="()", column=4):
    """`head(args)` on one line, or wrapped with the arguments aligned after the bracket. `column`
    is where `head` starts in the file; the text is for run()'s body, which is indented by 4."""
    one = f"{head}{brackets[0]}{', '.join(args)}{brackets[1]}"
    if column + len(one) <= WIDTH:
        return one
    start = column + len(head) + 1
    lines, line = [], ""
    for k, arg in enumerate(args):
        piece = arg + ("," if k < len(args) - 1 else brackets[1])
        if line and start + len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return head + brackets[0] + ("\n" + " " * (start - 4)).join(lines)



def flat(x):
    return [leaf for item in x for leaf in flat(item)] if isinstance(x, (list, tuple)) else [x]



class Data:
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
        return sum(a.size for _, v in self.items for a in flat(v) if np.issubdtype(a.dtype, np.floating))

    def code(self, npz_name, order=""):
        """(the definitions' source, the arrays stored in the .npz): float arrays go there when
        there are more than LITERAL_LIMIT numbers and `npz_name` is given. Definitions come in the
        order their names first appear in `order` (the code that uses them)."""
        to_file = npz_name is not None and self.float_count() > LITERAL_LIMIT
        stored, lines = {}, []
        if to_file:
            lines.append("# The arrays are in the .npz beside this script.")
            lines.append(f"DATA = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {py(npz_name)}))")

        def source(key, array, column):
            if to_file and np.issubdtype(array.dtype, np.floating):
                stored[key] = array
                return f"DATA[{py(key)}]"
            return literal(array, column)
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



def literal(array, column):
    """np.array(...) source for `array`; continuation lines align under its brackets, whose first
    sits at `column` + len("np.array(")."""
    array = np.asarray(array)
    dtype = array.dtype
    suffix = {"float64": "", "bool": ", dtype=bool"}.get(dtype.name, f", dtype=np.{dtype.name}")
    if array.size == 0:
        return f"np.zeros({py(tuple(array.shape))}{suffix or ', dtype=np.float64'})"
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



def raw(pattern, width=88):
    """A regex as Python source: raw strings of at most `width` characters, one per line."""
    quote = '"' if '"' not in pattern else "'" if "'" not in pattern else None
    if quote is None or pattern.endswith("\\"):
        return repr(pattern)
    pieces, rest = [], pattern
    while len(rest) > width:
        cut = width
        while rest[cut - 1] == "\\":  # a raw string cannot end in a backslash
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return "\n    ".join(f"r{quote}{p}{quote}" for p in pieces + [rest])



def wrap(text, width=WIDTH - 4):
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return lines + ([line] if line else [])
