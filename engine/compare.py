"""The one comparison of two outcomes, shared by the suite and the fuzzer.

Three checks, each giving Mismatch records with a `kind`:
  error      one side raised and the other did not, or the classes differ (compared by name, with
             TensorFlow-only classes matched by their Python meaning: see ERROR_EQUIVALENTS, and
             TensorFlow's runtime errors by any refusal of another framework: error_class_match)
  structure  different nesting or number of results; shape / dtype: per array
  value      outside the tolerance below; NaN and +-Inf must sit at the same places

Tolerance, per element of an array: |actual - expected| <= TOL_FACTOR * eps(dtype) * steps
* (1 + max|expected|), the max over that array (a norm-wise bound: rounding in a matrix product
scales with the size of the whole vector, not of the element, so a small element computed from
large ones legitimately carries the large ones' rounding). `steps` counts the rounding steps behind
the result: timesteps + 1 per cell of the stack, per call whose states it carries (every call so
far on a stateful layer). Rounding errors add up at most once per step with the recurrent scale
near 1 the cases use: float64 stays near 1e-13 relative, float32 near 1e-5.

At a recurrent scale above 1 (the fuzzer draws up to 1.3) rounding is also amplified, up to the
scale per step. float64 has no wider type to cross-check against, so its bound grows by
F64_GROWTH ** steps, capped at F64_GROWTH_CAP: a float64 result then still has to agree to about
1e-8 relative at worst, far below what a semantic bug changes (a stateful GRU, 4 calls of 5 steps
at scale 1.3, differs by 5e-13 relative between correct implementations, over the unamplified bound).
Where float32 exceeds its bound, the recurrence may be amplifying legitimate rounding (a chaotic
case): `recheck_f64` (see float64_recheck) then supplies the oracle's float64 outcome, and that of
SENSITIVITY_PROBES copies of the case with every generated value (weights, inputs, states, constants)
perturbed by float32's eps, one rounding's worth. The element passes if it is no farther from the
float64 result than the bound, plus twice the oracle's own float32 drift, plus SENSITIVITY_FACTOR times
the largest change the probes made in that result (norm-wise, as the bound). The probes are needed:
the oracle's drift alone can be lucky (a stateful GRU with a tanh update gate whose probes move the
result by up to 7e-4 while the oracle's traced float32 drifts 7e-6 and the reference's 1.5e-4). A fixed float32 constant would either hide bugs or flag chaos; where float32
cannot be checked tightly, the same structure in float64 is.

Gradients (a case with `gradients`: spec/gradients.md) are compared the same way, leaf by leaf
("d inputs", "d initial_state[k]", "d constants[k]", "d weights[i]"), with the same float64 recheck,
probes and ceiling; their rounding steps are GRADIENT_STEPS_FACTOR times the forward pass's (the
backward pass runs the recurrence again, and a weight's gradient sums over every timestep and row).
A gradient one side reports as None (disconnected) is compared as zeros.
"""
from dataclasses import asdict, dataclass, field

import numpy as np
from .gradients import named_leaves
from . import error_catalog

TOL_FACTOR = 32
F64_GROWTH, F64_GROWTH_CAP = 1.3, 1e4
SENSITIVITY_PROBES, SENSITIVITY_FACTOR = 2, 16
# The recheck's allowance never passes an element farther than this (relative to 1 + max|float64
# result|) from the float64 result: beyond it the element is "inconclusive", neither pass nor fail.
RECHECK_CEILING = 1e-3
GRADIENT_STEPS_FACTOR = 2  # measured: bench/gradient_tolerance.py, docs/gradients.md
ERROR_EQUIVALENTS = {
    # oracle class: classes an implementation may raise instead (they mean the same to a caller)
    "InvalidArgumentError": {"ValueError"},
    "OutOfRangeError": {"IndexError"},
}


@dataclass
class Mismatch:
    kind: str                 # error | structure | shape | dtype | value
    step: int
    path: str                 # which result: "output", "state[1]", ...
    detail: str
    stats: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


def recurrent_steps(case, step_index=0):
    """The rounding steps behind the results of step `step_index` of `case` (module docstring)."""
    calls = step_index + 1 if case.get("flags", {}).get("stateful") else 1
    return (case.get("timesteps", 1) + 1) * max(1, len(case.get("cells", ()))) * calls


def tolerance(dtype, steps, expected):
    """The rounding bound for an array `expected` of results (see the module docstring)."""
    finite = np.abs(expected[np.isfinite(expected)]) if np.size(expected) else np.zeros(0)
    return _bound(dtype, steps, finite.max() if finite.size else 0.0)


def _bound(dtype, steps, scale):
    """tolerance() for results whose largest finite magnitude is `scale`."""
    eps = np.finfo(dtype).eps if np.issubdtype(dtype, np.floating) else 0.0
    growth = min(F64_GROWTH ** steps, F64_GROWTH_CAP) if np.dtype(dtype) == np.float64 else 1.0
    return TOL_FACTOR * eps * steps * (1.0 + scale) * growth


def float64_recheck(run_oracle, case):
    """The `recheck_f64` argument of compare() for `case` (None unless it is float32): `run_oracle(case)`
    gives the oracle's outcome of a case, or None where it failed."""
    if case.get("dtype", "float32") != "float32":
        return None
    case64 = dict(case, dtype="float64")
    eps = float(np.finfo(np.float32).eps)

    def recheck():
        probes = [dict(case64, perturbation=[eps, draw]) for draw in range(SENSITIVITY_PROBES)]
        return {"float64": run_oracle(case64), "perturbed": [run_oracle(probe) for probe in probes]}
    return recheck


# tf.errors.OpError: the base of the errors TensorFlow's kernels raise at run time (InvalidArgumentError,
# OutOfRangeError, ...). Such a class names TensorFlow's machinery, not the layer's contract.
TF_RUNTIME_ERROR = "OpError"
# An implementation in JavaScript (tfjs) refuses with the language's base Error where it has no named
# class: its adapter raises it as a subclass of FOREIGN_LANGUAGE_ERROR, and it stands for the oracle's
# Python class when it states the oracle's facts.
JAVASCRIPT_BASE_ERROR = "Error"
FOREIGN_LANGUAGE_ERROR = "TfjsError"
# Classes that are no refusal of the input: rnnconf's own failures (a worker that crashed, hung or was
# lost; a target that cannot be set up) and an implementation's refusal of a feature (capabilities).
NOT_A_REFUSAL = frozenset({"WorkerCrash", "WorkerTimeout", "WorkerLost", "WorkerSetupError", "SetupError",
                           "TargetError", "NodeSetupError", "TfjsWorkerExited", "OutOfReach",
                           "NotImplementedError"})


def error_class_match(expected, actual, case=None):
    """How the implementation's error `actual` stands for the oracle's `expected` (execute.describe_error
    records), or None where it does not: {"how": words for the verdict, "facts": whether the message's
    facts are then compared (error_catalog.facts_match)}.

    The oracle's class, one of its bases, or its Python meaning (ERROR_EQUIVALENTS) stands for it.
    Where the oracle's class is a TensorFlow runtime error (a subclass of tf.errors.OpError), the
    contract is only that the input is refused: an implementation on another framework refuses it
    through its own framework's ops, with their classes (JAX's TypeError, torch's RuntimeError, NumPy's
    ValueError, tfjs' `Error`), so any error stands for it but another TensorFlow runtime error (a
    TensorFlow-based implementation is held to TensorFlow's class) and the classes that are no refusal
    (NOT_A_REFUSAL, which never stand for another class, whatever their bases). So for an oracle
    error that is a crash of its own code on `case` (error_catalog.refused_by_its_machinery). The facts of a
    TensorFlow kernel's message (its operands' shapes) are compared only where the implementation
    raises the oracle's own class."""
    want, got = expected["type"], actual["type"]
    mro = set(actual.get("mro") or [got])
    tf_runtime = TF_RUNTIME_ERROR in expected.get("mro", ())
    # The facts of a crash inside the oracle's own code are its machinery's, not the input's.
    if want == got:
        return {"how": f"raises {got}", "facts": not error_catalog.refused_by_its_machinery(expected, case)}
    if NOT_A_REFUSAL & mro:  # before the bases: some of rnnconf's own failures subclass TypeError, RuntimeError
        return None
    if want in mro:
        return {"how": f"raises {got}, a subclass of {want}",
                "facts": not error_catalog.refused_by_its_machinery(expected, case)}
    if ERROR_EQUIVALENTS.get(want, set()) & mro:
        return {"how": f"raises {got}, the Python meaning of TensorFlow's {want}", "facts": not tf_runtime}
    if error_catalog.refused_by_its_machinery(expected, case):
        return {"how": f"refuses the input with {got} where the oracle crashes inside its own code ({want}: "
                       f"{expected.get('message', '')[:80]}); the contract is only that it is refused",
                "facts": False}
    if tf_runtime and TF_RUNTIME_ERROR not in mro:
        return {"how": f"refuses the input with its own framework's {got} where the oracle's TensorFlow op "
                       f"raises {want} (the input must be refused; TensorFlow's class and kernel message are "
                       "TensorFlow's own)", "facts": False}
    if got == JAVASCRIPT_BASE_ERROR and FOREIGN_LANGUAGE_ERROR in mro:
        return {"how": f"raises JavaScript's base Error where the oracle raises {want} (JavaScript has no "
                       f"{want}; the message must state the oracle's facts)", "facts": True}
    return None


def same_error_class(expected, actual):
    """Whether the implementation's error class stands for the oracle's (error_class_match)."""
    return error_class_match(expected, actual) is not None


def _error_text(err):
    return f"{err['type']}: {err['message'][:300]}"


def compare(expected, actual, case, recheck_f64=None, structural_only=False, margins=None):
    """Mismatches between the oracle's outcome `expected` and the implementation's `actual`.
    `margins`, a dict, receives per dtype the largest ratio of a passing difference to its bound
    (how comfortable the pass was: 0 where the values are equal, 1 at the bound)."""
    exp_err, act_err = expected.get("error"), actual.get("error")
    if exp_err and not act_err and _raised_at_build(exp_err, actual, case):
        act_err = actual["steps"][0]["error"]  # its constructor took what its first call refuses
    if exp_err or act_err:
        return _compare_errors(exp_err, act_err, -1, case)
    out = []
    f64_steps = _Lazy(recheck_f64) if recheck_f64 is not None else None  # asked for at the first need
    for index, (exp, act) in enumerate(zip(expected["steps"], actual["steps"])):
        if "error" in exp or "error" in act:
            out += _compare_errors(exp.get("error"), act.get("error"), index, case)
            break
        exp_leaves, act_leaves = _leaves(exp["result"]), _leaves(act["result"])
        if _shape_of_nest(exp["result"]) != _shape_of_nest(act["result"]):
            out.append(Mismatch("structure", index, "result",
                                f"expected {_describe_nest(exp['result'])}, got {_describe_nest(act['result'])}"))
            continue
        for (path, e), (_, a) in zip(exp_leaves, act_leaves):
            bad = _leaf_mismatch(path, e, a, case, index, f64_steps, margins, structural_only=structural_only)
            if bad is not None:
                out.append(bad)
        if not structural_only and ("gradients" in exp or "gradients" in act):
            out += _compare_gradients(exp, act, case, index, f64_steps, margins)
    if len(expected["steps"]) != len(actual["steps"]) and not out:
        out.append(Mismatch("structure", min(len(expected["steps"]), len(actual["steps"])), "steps",
                            f"expected {len(expected['steps'])} step results, got {len(actual['steps'])}"))
    return out


def _leaf_mismatch(path, e, a, case, index, f64_steps, margins, steps=None, structural_only=False):
    """The mismatch of one compared array, or None: its shape, its dtype, then (unless
    `structural_only`) its values within the bound of `steps` rounding steps, float32 values beyond it
    rechecked against the oracle in float64 (`f64_steps`); `margins` gets a pass's ratio per dtype."""
    if e.shape != a.shape:
        return Mismatch("shape", index, path, f"expected shape {e.shape}, got {a.shape}")
    if e.dtype != a.dtype:
        return Mismatch("dtype", index, path, f"expected dtype {e.dtype}, got {a.dtype}")
    if structural_only:
        return None
    ratio = {}
    bad = _value_mismatch(e, a, case, index, ratio=ratio, steps=steps)
    if bad is not None and e.dtype == np.float32 and f64_steps is not None:
        ref = _leaf_at(f64_steps["float64"], index, path)
        if ref is not None and ref.shape == e.shape:
            probes = [_leaf_at(p, index, path) for p in f64_steps["perturbed"]]
            bad = _value_mismatch(e, a, case, index, ref64=ref, sensitivity=_sensitivity(ref, probes),
                                  ratio=ratio, steps=steps)
    if bad is None and margins is not None and "ratio" in ratio:
        margins[str(e.dtype)] = max(margins.get(str(e.dtype), 0.0), ratio["ratio"])
    if bad is not None:
        return Mismatch("inconclusive" if bad.get("inconclusive") else "value", index, path, bad["detail"], bad)
    return None


class _Lazy:
    """The float64 recheck's answer, asked for at the first array that needs it."""

    def __init__(self, recheck):
        self._recheck, self._answer = recheck, None

    def __getitem__(self, key):
        if self._answer is None:
            self._answer = _rechecked(self._recheck())
        return self._answer[key]


def _compare_gradients(exp, act, case, index, f64_steps, margins):
    """Mismatches between two steps' gradients (see the module docstring)."""
    if "gradients" not in exp or "gradients" not in act:
        missing = "the implementation" if "gradients" not in act else "the oracle"
        return [Mismatch("structure", index, "gradients", f"{missing} computed no gradients")]
    out = []
    exp_leaves, act_leaves = named_leaves(exp["gradients"]), named_leaves(act["gradients"])
    if [p for p, _ in exp_leaves] != [p for p, _ in act_leaves]:
        return [Mismatch("structure", index, "gradients",
                         f"expected gradients of {', '.join(p for p, _ in exp_leaves)}; got "
                         f"{', '.join(p for p, _ in act_leaves)}")]
    steps = GRADIENT_STEPS_FACTOR * recurrent_steps(case, index)
    for (path, e), (_, a) in zip(exp_leaves, act_leaves):
        if e is None and a is None:
            continue
        e = np.zeros_like(a) if e is None else np.asarray(e)
        a = np.zeros_like(e) if a is None else np.asarray(a)
        bad = _leaf_mismatch(path, e, a, case, index, f64_steps, margins, steps=steps)
        if bad is not None:
            out.append(bad)
    return out


def _rechecked(answer):
    """recheck_f64's answer as {"float64": outcome, "perturbed": [outcomes]}; a bare outcome (reproducers
    written before the probes) has no probes."""
    if answer is None:
        return {"float64": None, "perturbed": []}
    if "steps" in answer:
        return {"float64": answer, "perturbed": []}
    return answer


def _sensitivity(ref64, probes):
    """The largest change the perturbed float64 runs made anywhere in the result (0 without probes)."""
    changes = [np.abs(p.astype(np.float64) - ref64) for p in probes
               if p is not None and p.shape == ref64.shape]
    finite = [c[np.isfinite(c)] for c in changes]
    return max((float(c.max()) for c in finite if c.size), default=0.0)


def _raised_at_build(exp_err, actual, case):
    """Whether the oracle's constructor error is a path the contract gives at build
    (error_catalog.RAISED_AT_BUILD) and the implementation raises at its first call instead."""
    steps = actual.get("steps") or []
    return (bool(steps) and "error" in steps[0]
            and error_catalog.classify(exp_err, case) in error_catalog.RAISED_AT_BUILD)


def _compare_errors(exp_err, act_err, step, case=None):
    if exp_err and act_err:
        match = error_class_match(exp_err, act_err, case)
        if match is not None:
            return _compare_facts(exp_err, act_err, step, case) if match["facts"] else []
        return [Mismatch("error", step, exp_err.get("stage", ""),
                         f"both raise, but the oracle raises {_error_text(exp_err)} and the implementation "
                         f"{_error_text(act_err)}", {"expected": exp_err, "actual": act_err})]
    if exp_err:
        return [Mismatch("error", step, exp_err.get("stage", ""),
                         f"the oracle raises {_error_text(exp_err)}; the implementation does not",
                         {"expected": exp_err, "actual": None})]
    return [Mismatch("error", step, act_err.get("stage", ""),
                     f"the implementation raises {_error_text(act_err)}; the oracle does not",
                     {"expected": None, "actual": act_err})]


def _compare_facts(exp_err, act_err, step, case):
    """Where the oracle's error is a catalogued path, the implementation's message must state its
    facts (error_catalog.facts_match: values from the user's input, never wording)."""
    err_id = error_catalog.classify(exp_err, case) or error_catalog.classify_other(exp_err)
    if err_id is None:
        return []
    ok, detail = error_catalog.facts_match(exp_err, act_err, err_id)
    if ok:
        return []
    return [Mismatch("error", step, exp_err.get("stage", ""),
                     f"both raise {act_err['type']}, but {detail}; the oracle says {_error_text(exp_err)}, "
                     f"the implementation {_error_text(act_err)}",
                     {"expected": exp_err, "actual": act_err, "err_id": err_id, "facts": False})]


def _value_mismatch(e, a, case, step_index, ref64=None, sensitivity=0.0, ratio=None, steps=None):
    """None where `a` passes for `e`; else the mismatch's facts. `ratio` (a dict), where given and
    the values are floating, receives "ratio": the largest difference over its bound. `steps`: the
    rounding steps behind the values (default: recurrent_steps of the step)."""
    ratio = {} if ratio is None else ratio
    steps = steps or recurrent_steps(case, step_index)
    floating = np.issubdtype(e.dtype, np.floating)
    if ref64 is None and np.array_equal(e, a):  # the common case, cheaply (NaNs take the long way)
        if floating:
            ratio["ratio"] = 0.0
        return None
    if not floating:
        if np.array_equal(e, a):
            return None
        idx = tuple(int(i) for i in np.argwhere(e != a)[0])
        return {"detail": f"values differ at {idx}", "index": idx}
    e64, a64 = e.astype(np.float64), a.astype(np.float64)
    if ref64 is None and e64.size:
        worst = _worst_ratio(e64, a64, e.dtype, steps)
        if worst <= 1.0:
            ratio["ratio"] = worst
            return None
    finite_e, finite_a = np.isfinite(e64), np.isfinite(a64)
    nonfinite_ok = np.array_equal(np.isnan(e64), np.isnan(a64)) and np.array_equal(
        np.where(np.isinf(e64), e64, 0), np.where(np.isinf(a64), a64, 0))
    both = finite_e & finite_a
    diff = np.where(both, np.abs(e64 - a64), 0.0)
    bound = tolerance(e.dtype, steps, np.where(both, e64, 0.0))
    inconclusive = np.zeros(diff.shape, bool)
    if ref64 is not None:
        ref64 = ref64.astype(np.float64)
        finite_ref = np.isfinite(ref64)
        drift = np.where(both & finite_ref, np.abs(e64 - ref64), 0.0)
        diff = np.where(both & finite_ref, np.abs(a64 - ref64), diff)
        allowance = bound + 2 * drift + SENSITIVITY_FACTOR * sensitivity
        scale = float(np.abs(ref64[finite_ref]).max()) if finite_ref.any() else 0.0
        ceiling = np.maximum(bound, RECHECK_CEILING * (1.0 + scale))
        inconclusive = (diff > ceiling) & (diff <= allowance)
        bound = np.minimum(allowance, ceiling)
    over = (diff > bound) & ~inconclusive
    if nonfinite_ok and not over.any() and not inconclusive.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            used = np.where(diff > 0, diff / np.broadcast_to(bound, diff.shape), 0.0)
        ratio["ratio"] = float(used.max()) if used.size else 0.0
        return None
    if nonfinite_ok and not over.any():
        idx = tuple(int(i) for i in np.argwhere(inconclusive)[0])
        return {"detail": f"{int(inconclusive.sum())} element(s) beyond the float32 recheck's ceiling "
                          f"(largest {float(diff.max()):.3g} from float64 at {idx}; the probes allow "
                          f"{float(np.broadcast_to(allowance, diff.shape)[idx]):.3g}): too sensitive to "
                          "judge in float32", "inconclusive": True, "elements": int(inconclusive.sum()),
                "max_abs": float(diff.max()), "index": list(idx), "sensitivity": sensitivity}
    where = np.argwhere(over | (finite_e != finite_a))
    idx = tuple(int(i) for i in where[0]) if len(where) else ()
    max_abs = float(diff.max()) if diff.size else 0.0
    rel = diff / np.maximum(np.abs(e64), 1e-30)
    max_rel = float(np.where(both, rel, 0).max()) if diff.size else 0.0
    detail = (f"max abs diff {max_abs:.3g} (max rel {max_rel:.3g}) at {idx}: expected "
              f"{e64[idx] if idx else '?'}, got {a64[idx] if idx else '?'}")
    if not nonfinite_ok:
        detail = "NaN/Inf at different places; " + detail
    return {"detail": detail, "max_abs": max_abs, "max_rel": max_rel, "index": list(idx),
            "bound": float(np.broadcast_to(bound, diff.shape)[idx]) if idx else None, "cross_checked_f64": ref64 is not None,
            "sensitivity": sensitivity if ref64 is not None else None}


def _worst_ratio(e64, a64, dtype, steps):
    """The common passing case in a few array operations (the full check cost the fuzzer's driver
    ~0.1 ms per example): the largest difference over tolerance()'s bound, whose scale is then simply
    max|expected|, where both sides are finite everywhere; inf otherwise ("look closer")."""
    scale = float(np.abs(e64).max())  # NaN or Inf anywhere in expected makes this non-finite
    worst = float(np.abs(e64 - a64).max())  # and so does one in actual, once expected is finite
    if not (np.isfinite(scale) and np.isfinite(worst)):
        return float("inf")
    return worst / float(_bound(dtype, steps, scale))


def _leaves(nest):
    """(path, array) per result leaf, paths unique: "output" (or "output[i]..." for a nested output),
    "state[k]" for the k-th returned state, "state[k][j]" inside a state nested per cell."""
    if not isinstance(nest, list):
        return [("output", np.asarray(nest))]
    out = []
    for i, item in enumerate(nest):
        _collect(item, "output" if i == 0 else f"state[{i - 1}]", out)
    return out


def _collect(nest, path, out):
    if isinstance(nest, list):
        for j, item in enumerate(nest):
            _collect(item, f"{path}[{j}]", out)
    else:
        out.append((path, np.asarray(nest)))


def _leaf_at(outcome, step, path):
    if outcome is None:
        return None
    try:
        entry = outcome["steps"][step]
        if path.startswith("d "):  # a gradient (engine/gradients.py)
            leaf = dict(named_leaves(entry["gradients"])).get(path)
            return None if leaf is None else np.asarray(leaf)
        result = entry["result"]
    except (IndexError, KeyError):
        return None
    return dict(_leaves(result)).get(path)


def _shape_of_nest(nest):
    if isinstance(nest, list):
        return [_shape_of_nest(x) for x in nest]
    return "leaf" if nest is not None else None


def _describe_nest(nest):
    if isinstance(nest, list):
        return "[" + ", ".join(_describe_nest(x) for x in nest) + "]"
    return "None" if nest is None else f"array{tuple(np.shape(nest))}"
