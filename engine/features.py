"""A case's features: its non-default parts as strings (fingerprints, root causes and known
differences are stated in them), and the cases like it without one of them."""
import math

from .cases import BUILTIN_LAYERS, is_stack, normalize
from .schema import CELL_DEFAULTS


def features(case):
    """The non-default parts of a case, as sorted strings."""
    case = normalize(case)
    out = set()
    if case["layer"] in BUILTIN_LAYERS:
        out.add(f"layer:{case['layer']}")
    for cell in case["cells"]:
        out.add(f"cell:{_cell_name(cell)}")
        if _fractional(cell.get("units")):
            out.add(FRACTIONAL_UNITS)
        for key, value in cell.items():
            if key in CELL_DEFAULTS and value != CELL_DEFAULTS[key]:
                out.add(f"{cell['kind']}.{key}={value}")
    if is_stack(case):
        out.add("stack")
    out.update(f"flag:{name}" for name, value in case["flags"].items() if value)
    for key in ("mask", "embedding", "constants"):
        if case[key]:
            out.add(key)
    if case["initial_state"] or any(s.get("initial_state") for s in case["steps"]):
        out.add("initial_state")
        if case.get("initial_state_form") not in (None, "list"):
            out.add(f"initial_state_form={case['initial_state_form']}")
    if case["training"] is not None:
        out.add(f"training={case['training']}")
    if case["dtype"] != "float32":
        out.add(f"dtype:{case['dtype']}")
    if case.get("gradients"):
        out.add("gradients")
    ops = [s.get("op", "call") for s in case["steps"]]
    if ops.count("call") > 1:
        out.add("calls:several")
    for step in case["steps"]:
        if step.get("op") == "reset":
            out.add(f"reset:{step.get('states') or 'zeros'}")
        elif step.get("op") == "states":
            out.add("read-states")
        elif step.get("batch"):
            out.add("call:other-batch")
        elif step.get("list_input"):
            out.add("call:list-input")
    return sorted(out)


def without_feature(case, feature):
    """Cases like `case` but without `feature` (one of features(case)): each cell of that kind made
    another built-in kind, an option, flag or argument dropped, float32 for float64, each cell of a stack
    alone, the list form of initial states, fractional units rounded. Empty where the feature cannot
    be taken away alone (the steps of a stateful run)."""
    case = normalize(case)
    name, _, value = feature.partition(":")
    if name == "cell":
        # Built-in cells take 1-D features; a high-dimensional custom cell's input is flattened to its last axis.
        features = case["features"][-1:] if value == "custom-hd_state" else case["features"]
        return [dict(case, features=features,
                     cells=[{"kind": other, "units": c["units"]} if _cell_name(c) == value else c
                            for c in case["cells"]])
                for other in ("simple", "gru", "lstm") if other != value]
    if "=" in feature and "." in feature.split("=", 1)[0]:
        kind, option = feature.split("=", 1)[0].split(".", 1)
        return [dict(case, cells=[{k: v for k, v in c.items() if not (c["kind"] == kind and k == option)}
                                  for c in case["cells"]])]
    if name == "flag":
        return [dict(case, flags={k: v for k, v in case["flags"].items() if k != value})]
    if feature in ("mask", "embedding", "constants"):
        return [dict(case, **{feature: None})]
    if feature == "initial_state":
        return [dict(case, initial_state=False,
                     steps=[{k: v for k, v in s.items() if k != "initial_state"} for s in case["steps"]])]
    if feature.startswith("training="):
        return [dict(case, training=None)]
    if name == "dtype":
        return [dict(case, dtype="float32")]
    if feature == "gradients":
        return [dict(case, gradients=False)]
    if name == "layer":
        return [dict(case, layer="RNN")]
    if feature == "stack":  # each of its cells alone, the first one first
        alone = []
        for cell in case["cells"]:
            if cell not in alone:
                alone.append(cell)
        return [dict(case, cells=[cell], cell_list=False) for cell in alone]
    if feature.startswith("initial_state_form="):
        return [dict(case, initial_state_form=None)]
    if feature == FRACTIONAL_UNITS:  # the nearest positive integer
        return [dict(case, cells=[dict(c, units=max(1, round(c["units"]))) if _fractional(c.get("units")) else c
                                  for c in case["cells"]])]
    return []


# A cell whose `units` is a number with a fractional part (2.5): no width a weight can have.
FRACTIONAL_UNITS = "units:fractional"


def _fractional(units):
    return isinstance(units, float) and math.isfinite(units) and not units.is_integer()


def _cell_name(cell):
    return cell["kind"] if cell["kind"] != "custom" else f"custom-{cell.get('variant')}"


def essential(fp, case, fails_the_same):
    """`fp` with only the features its failure needs: a feature stays unless a case without it
    (without_feature) still fails the same way, as `fails_the_same(case)` says."""
    needed = [f for f in fp["features"]
              if not any(fails_the_same(alternative) for alternative in without_feature(case, f))]
    return dict(fp, features=needed)


def without_features(case, features, limit=4):
    """Cases like `case` without any of `features` at once (without_feature applied in turn; a
    feature that cannot be taken away alone is kept), at most `limit` of them."""
    cases = [normalize(case)]
    for feature in features:
        cases = [alt for c in cases for alt in (without_feature(c, feature) or [c])][:limit]
    return cases
