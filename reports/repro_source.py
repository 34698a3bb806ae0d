"""Python source of a reproducer's values and layer: literals, the layer expression, where a target runs."""
import json

from rnnconf.adapters import namespaces
from rnnconf.engine.cases import (BUILTIN_LAYERS, CELL_CLASSES, cell_kwargs, cell_state_dims, layer_flags,
                                  normalize)
from rnnconf.adapters import targets


LITERAL_LIMIT = 200  # numbers of data beyond which the float arrays go to the .npz


WIDTH = 100


def runnable(impl):
    """(the module the script imports for `impl`, the environment variables it needs): a target
    (adapters/targets.py) names its module and its variables (KERAS_BACKEND), `IMPL@PYTHON` its module."""
    spec = targets.TARGETS.get(impl)
    if spec is not None:
        return spec.impl, dict(spec.env)
    split = targets.split_remote(impl)
    return (split[0] if split else impl), {}


def _where_to_run(impl):
    """The docstring's words on the environment the script needs, for a target; else None."""
    spec = targets.TARGETS.get(impl)
    if spec is None:
        return None
    oracle = " ".join(p for p in targets.ORACLE_PINS if p not in spec.pins)
    pins = " ".join(p for p in spec.pins if p != targets.JAX_CACHE_PIN)  # the cache is rnnconf's speed-up only
    words = (f"Both sides run in this process: use an environment with target {impl}'s pins, "
             f"{pins}" + (f", and the oracle's, {oracle}" if oracle else "") + ".")
    if spec.impl.startswith("rnnconf."):
        words += f" Its adapter is rnnconf's ({spec.impl}): put rnnconf's source on PYTHONPATH."
    return words


def _indent(text, spaces=4):
    return "\n".join((" " * spaces + line) if line else line for line in text.split("\n"))


def _py(value):
    """Python source for a plain value, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_py(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)


# ---- the layer -------------------------------------------------------------------------------------
def _dtype_kw(case):
    return [] if case["dtype"] == "float32" else [f"dtype={_py(case['dtype'])}"]


def _cell_kwargs(cell, case):
    # The options cases.build_layer passes: none at its default unless the case is about it.
    return [f"{k}={_py(v)}" for k, v in cell_kwargs(cell, case).items()]


def _flag_kwargs(case):
    return [f"{k}={_py(v)}" for k, v in layer_flags(case).items()]


def _cell_expr(cell, case, features, prefix="layers."):
    dtype = _dtype_kw(case)
    if cell["kind"] == "custom":
        rows = [f"rows={features[0]}"] if cell["variant"] == "hd_state" else []
        return f"{_class_name(cell['variant'])}({', '.join([_py(cell['units'])] + rows + dtype)})"
    args = [_py(cell["units"])] + _cell_kwargs(cell, case) + dtype
    return f"{prefix}{CELL_CLASSES[cell['kind']]}({', '.join(args)})"


def _cells_exprs(case, prefix="layers."):
    out, features = [], list(case["features"])
    for cell in case["cells"]:
        out.append(_cell_expr(cell, case, features, prefix))
        dims = cell_state_dims(cell, features)
        features = dims[0] if isinstance(dims[0], list) else dims
    return out


def _layer_args(case, prefix="layers."):
    """(the constructor's name, its positional argument source, its keywords) of the case's layer."""
    kwargs = _flag_kwargs(case) + _dtype_kw(case)
    if case["layer"] in BUILTIN_LAYERS:
        cell = case["cells"][0]
        return f"{prefix}{case['layer']}", [_py(cell["units"])] + _cell_kwargs(cell, case) + kwargs, None
    cells = _cells_exprs(case, prefix)
    as_list = len(cells) > 1 or case["cell_list"]
    return f"{prefix}RNN", kwargs, (cells, as_list)


def layer_expression(case):
    """The layer as a reader sees it, without the namespace: "RNN(GRUCell(3), go_backwards=True)"."""
    name, kwargs, cells = _layer_args(normalize(case), prefix="")
    if cells is None:
        return f"{name}({', '.join(kwargs)})"
    inner = "[" + ", ".join(cells[0]) + "]" if cells[1] else cells[0][0]
    return f"{name}({', '.join([inner] + kwargs)})"


def _call_source(head, args, brackets="()", column=4):
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


_TARGETS = {}


def _target(name):
    if name not in _TARGETS:
        _TARGETS[name] = namespaces.resolve(name)
    return _TARGETS[name]


def _flat(x):
    return [leaf for item in x for leaf in _flat(item)] if isinstance(x, (list, tuple)) else [x]


# ---- the custom cells' class names (repro_cells.py writes their source) ------------------------
def _class_name(variant):
    return "".join(part.title() for part in variant.split("_")) + "Cell"
