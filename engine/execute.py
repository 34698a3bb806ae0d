"""Run one case on one Target and return its outcome as plain data.

Outcome: {"steps": [{"op": ..., "result": nested lists of ndarrays} or {"op": ..., "error": {...}}],
          "error": construction error or None}. Execution stops at the first error. A case with
`gradients` differentiates each call through the target's gradient hook (engine/gradients.py):
its step also carries "gradients" ({"inputs", "initial_state", "constants", "weights"}, ndarrays).

The first call is made twice: once to build the layer (weights exist only after it), then, after
the seed's weights are set (and a stateful layer reset), for real. An error in that first call is
the outcome of step 0, so first-call errors (ERR-04, ERR-05) stay visible.

`Session` runs many cases on one target and reuses a built layer for the next case of the same
structure (same everything but seed, weight scale, perturbation and mask values): set_weights,
reset_states and a call replace construction and the build call. A layer reused `compile_after`
times (by default from its first reuse) is from then on called through the target's compiler: for
tf_keras a traced tf.function, 1-3 ms a call instead of 11-45 ms eagerly, after a one-off trace of
100-300 ms. Only layers whose fresh run succeeded are reused, so construction- and first-call-time
behaviour is always seen on fresh (eager) layers, and a reused layer that fails is judged again on a
fresh one. With `eager_every` (the implementation under test's session), every so many reuses of a
compiled layer are called eagerly, so its eager path is judged on more data than its fresh run's.
"""
import json
import re
from collections import OrderedDict

import numpy as np

from . import gradients as grad
from .cases import (build_embedding, build_layer, flag, inputs_for, mask_for, normalize, part_weights, perturbed,
                    reset_states_for, step_rng)
from .cases import initial_state_for


_WRAPPED = "Exception encountered when calling"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# The attribute that marks an error with the stage it was raised at, where the code that raised it
# knows better than its caller (an error-path trigger's construction of its layer).
STAGE_MARK = "rnnconf_stage"


def describe_error(exc, stage):
    stage = getattr(exc, STAGE_MARK, stage)
    message = _ANSI.sub("", str(exc))
    if message.startswith(_WRAPPED):  # tf_keras and Keras 3 wrap errors raised inside call(): keep the core
        parts = message.split("\n\n")
        message = parts[1] if len(parts) > 1 else message
    return {"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
            "message": message[:4000], "stage": stage}


def to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "detach") and not isinstance(x, np.ndarray):
        x = x.detach().cpu()  # torch: numpy() refuses a tensor that requires grad (Keras 3's outputs do)
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.array(x)  # a copy: the result must not change when the layer runs again


class Runner:
    """Holds one built layer for a case and runs its steps."""

    def __init__(self, target, case):
        self.target, self.case = target, normalize(case)
        self.layer = build_layer(target, self.case)
        self.embedding = build_embedding(target, self.case) if self.case["embedding"] else None
        self._forward = self._eager_forward
        self.reuses = 0
        self.compiled = False
        self.eager_call = False  # the next call bypasses the compiler (Session's eager spot checks)
        self._weight_specs = self._weights = None
        self._weights_installed = True
        self.last_gradients = None  # the gradients of the last call, where the case differentiates

    def _parts(self):
        return [part for part in (self.layer, self.embedding) if part is not None]

    def _eager_forward(self, x, kwargs):
        if self.embedding is not None:
            x = self.embedding(x)  # inside the (possibly traced) call so the upstream mask travels
        return self.layer(x, **kwargs)

    def _assign_and_forward(self, weights, x, kwargs):
        # Traced: the case's weights are assigned inside the graph, one call instead of one per
        # variable (set_weights was a third of a reused layer's time per example).
        for variable, value in zip(self._variables, weights):
            variable.assign(value)
        return self._eager_forward(x, kwargs)

    def compile(self):
        """Route later calls through the target's compiler (tf.function for tf_keras). A case that
        differentiates is always called eagerly, through the gradient hook."""
        if self.target.compile is not None and not self.compiled and not self.case.get("gradients"):
            # Same order as get_weights/set_weights.
            self._variables = [v for part in self._parts() for v in part.weights]
            traced = self.target.compile(self._assign_and_forward)
            self._forward = lambda x, kwargs: traced(self._weights, x, kwargs)
            self.compiled = True

    def call(self, step_index, step, differentiate=True):
        case, target = self.case, self.target
        x = inputs_for(case, step.get("input_step", step_index), step.get("batch"))
        kwargs = {}
        mask = mask_for(case)
        if mask is not None:
            kwargs["mask"] = mask
        if case["training"] is not None:
            kwargs["training"] = case["training"]
        if step.get("initial_state", case["initial_state"]):
            kwargs["initial_state"] = initial_state_for(case, step_index, step, target.to_native)
        if case["constants"]:
            rng = step_rng(case, step_index, 3)
            batch = step.get("batch", case["batch"])
            constants = [rng.normal(0, 1, [batch] + list(s)).astype(case["dtype"]) for s in case["constants"]]
            kwargs["constants"] = [target.to_native(c) for c in perturbed(case, constants, step_index, 3)]
        if step.get("list_input"):  # [x, *initial_state, *constants] as one list (ERR-26, ERR-47)
            states = kwargs.pop("initial_state", None)  # a form's entries, or its one bare tensor
            states = [] if states is None else list(states) if isinstance(states, (list, tuple)) else [states]
            extra = states + (kwargs.pop("constants", None) or [])
            self._install_weights()
            return self.layer([x] + list(extra), **kwargs)
        if differentiate and case.get("gradients") and self.embedding is None:
            return self._differentiate(step_index, x, kwargs)
        if not self.compiled or self.eager_call:
            self._install_weights()
        result = (self._eager_forward if self.eager_call else self._forward)(x, kwargs)
        self._weights_installed = True
        return result

    def _differentiate(self, step_index, x, kwargs):
        """One eager call through the target's gradient hook; its gradients kept in last_gradients."""
        if self.target.gradients is None:
            raise NotImplementedError(grad.UNSUPPORTED)
        self._install_weights()
        result, gradients = self.target.gradients(self.layer, x, kwargs, grad.cotangents_for(self.case, step_index))
        self.last_gradients = grad.to_numpy_grads(gradients, to_numpy)
        return result

    def _install_weights(self):
        if not self._weights_installed:
            values = iter(self._weights)
            for part, specs in zip(self._parts(), self._weight_specs):
                part.set_weights([next(values) for _ in specs])
            self._weights_installed = True

    def reset(self, step_index, step):
        what = step.get("states")
        if what is None:
            return self.target.reset_states(self.layer)
        return self.target.reset_states(self.layer, reset_states_for(self.case, step_index, what))

    def prepare(self):
        """Build with the first call, then install the seed's weights (step 0's errors surface here)."""
        first = self.case["steps"][0] if self.case["steps"] else {"op": "call"}
        if first.get("op") == "call":
            self.call(0, first, differentiate=False)
        self.load_case(self.case)

    def load_case(self, case):
        """Install `case`'s weights and zero the states: a built layer becomes as if built for `case`."""
        self.case = case
        if self._weight_specs is None:  # shapes and dtypes do not change once built: read them once
            self._weight_specs = [[(np.shape(w), np.asarray(w).dtype) for w in part.get_weights()]
                                  for part in self._parts()]
        self._weights = [w for part in part_weights(self._weight_specs, case) for w in part]
        self._weights_installed = False
        if not self.compiled:  # a traced call assigns them itself
            self._install_weights()
        if flag(self.case, "stateful"):
            self.target.reset_states(self.layer)

    def run_step(self, index, step):
        op = step.get("op", "call")
        self.last_gradients = None
        if op == "call":
            return to_numpy(self.call(index, step))
        if op == "reset":
            self.reset(index, step)
            return None
        if op == "states":
            # A layer that keeps no states (not stateful) says so as None (Keras 3) or as one None per
            # state (Keras 2): both are "no states".
            states = self.layer.states
            return None if _no_states(states) else to_numpy(list(states))
        raise ValueError(f"unknown step op {op!r}")


def _no_states(states):
    """Whether layer.states holds no state: None, or Nones however nested (a stack's per cell)."""
    if isinstance(states, (list, tuple)):
        return all(_no_states(s) for s in states)
    return states is None


def run(target, case):
    """Execute a case on a fresh layer; never raises for errors of the implementation: they are part
    of the outcome. A case with `warmup` (the data-only keys of an earlier case of the same structure,
    see Session) first runs that earlier case on the layer, then this one on the same layer: how a
    failure that only a reused layer shows is replayed. A target in another interpreter
    (namespaces.RemoteTarget) runs it in its worker."""
    if getattr(target, "remote", False):
        return target.run(case)
    case = normalize(case)
    warmup = case.get("warmup")
    if not warmup:
        return _run_fresh(target, case)[0]
    case = {k: v for k, v in case.items() if k != "warmup"}
    earlier, runner = _run_fresh(target, dict(case, **warmup))
    if runner is None or has_error(earlier):
        return earlier  # the earlier case itself fails: that is the outcome to show
    outcome = {"steps": [], "error": None, "reused": warmup}
    try:
        runner.load_case(case)
    except Exception as e:  # noqa: BLE001
        outcome["steps"].append({"op": "call", "error": describe_error(e, "reuse")})
        return outcome
    return _run_steps(runner, case["steps"] or [{"op": "call"}], outcome)


def _run_fresh(target, case):
    outcome = {"steps": [], "error": None}
    try:
        runner = Runner(target, case)
    except Exception as e:  # noqa: BLE001
        outcome["error"] = describe_error(e, "construct")
        return outcome, None
    steps = runner.case["steps"] or [{"op": "call"}]
    try:
        runner.prepare()
    except Exception as e:  # noqa: BLE001
        outcome["steps"].append({"op": steps[0].get("op", "call"), "error": describe_error(e, "step 0")})
        return outcome, None
    _run_steps(runner, steps, outcome)
    return outcome, runner


def _run_steps(runner, steps, outcome):
    for index, step in enumerate(steps):
        try:
            outcome["steps"].append({"op": step.get("op", "call"), "result": runner.run_step(index, step)})
            if runner.last_gradients is not None:
                outcome["steps"][-1]["gradients"] = runner.last_gradients
        except Exception as e:  # noqa: BLE001
            outcome["steps"].append({"op": step.get("op", "call"), "error": describe_error(e, f"step {index}")})
            break
    return outcome


def has_error(outcome):
    return bool(outcome["error"]) or any("error" in s for s in outcome["steps"])


DATA_ONLY_KEYS = ("seed", "weights_seed", "weight_scale", "perturbation", "mask")


def data_of(case):
    """The data-only keys of a case (a `warmup`, see run)."""
    return {k: case[k] for k in DATA_ONLY_KEYS if k in case}


def structure_key(case):
    """What must match for a built layer to serve another case: all but the data-only keys (seeds,
    weight scale, perturbation, the mask's values but not its shape). The steps are part of it: a
    traced layer can accept what an eager one rejects (tf_keras: a stateful layer called with another
    batch size, a mask of the wrong length), so a case is only ever run on a layer whose fresh run of
    the same steps and shapes succeeded."""
    mask = case["mask"]
    mask_shape = None if mask is None else [len(mask)] + sorted({len(row) if isinstance(row, list) else -1
                                                                  for row in mask})
    return json.dumps({k: v for k, v in case.items() if k not in DATA_ONLY_KEYS} | {"mask_shape": mask_shape},
                      sort_keys=True)


class Session:
    """Runs cases on one target, reusing built layers across cases of the same structure."""

    def __init__(self, target, reuse=True, max_layers=16, clear_every=100, compile_after=0, on_clear=None,
                 retry_eager_reuse=True, eager_every=None):
        self.target, self.reuse, self.on_clear = target, reuse, on_clear
        # An error on an eagerly reused layer is the target's own behaviour (state leaking from an
        # earlier call, say): for the implementation under test it is the outcome, marked "reused";
        # only the oracle, whose fresh run is the contract, retries it fresh.
        self.retry_eager_reuse = retry_eager_reuse
        # Eager spot checks: every `eager_every`th reuse of a compiled layer is called eagerly, so an
        # implementation whose compiled path hides a bug of its eager one (what users of Keras 3 meet
        # first) is still judged eagerly on data beyond its fresh run's. None: never.
        self.eager_every = eager_every
        self.max_layers, self.clear_every, self.compile_after = max_layers, clear_every, compile_after
        self._pool = OrderedDict()
        self._no_reuse, self._eager_only = set(), set()
        self._fresh_since_clear = 0
        self.stats = {"fresh": 0, "reused": 0, "reuse_errors": 0, "spot_checks": 0}
        self._spot_checked = False
        # How the last case ran: "fresh" (a new layer, eager), "reused" (a built layer, eager: the target
        # has no compiler, or this call is a spot check), "traced"
        # (a built layer through the target's compiler) or "untraceable" (reused eagerly because its
        # traced reuse failed: as slow as eager, for a target that has a compiler).
        self.last_path = None

    def run(self, case, fresh=False, trace=True):
        """The case's outcome; `fresh=True` forces a new layer (construction-time behaviour);
        `trace=False` keeps this structure off the target's compiler from now on."""
        case = normalize(case)
        key = structure_key(case)
        if not trace:
            self._eager_only.add(key)
        runner = None if fresh or not self.reuse or key in self._no_reuse else self._pool.pop(key, None)
        outcome = None
        if case.get("warmup"):
            runner = None  # a replayed reuse (run) builds its own layer
        if runner is not None:
            previous = data_of(runner.case)
            outcome = self._reuse(runner, case, compile=key not in self._eager_only)
            if outcome is not None:
                outcome["reused"] = previous  # what the layer ran before: replays a reuse-only failure
            if outcome is not None and has_error(outcome):
                self._no_reuse.add(key)
                self.stats["reuse_errors"] += 1
                self.last_path = "reused"
                return outcome
            if outcome is None:
                # A structure whose fresh run succeeded failed on reuse: data-dependent, or an artefact
                # of the traced path (tf_keras' stateful initial_state, or a stack of custom cells whose
                # states are tuples in one branch of a tf.cond and lists in the other). A fresh eager
                # run decides; the structure is then reused eagerly only, or not at all if that failed.
                (self._eager_only if runner.compiled else self._no_reuse).add(key)
                self.stats["reuse_errors"] += 1
                runner = None
        if runner is None and case.get("warmup"):
            self._count_fresh()
            outcome = run(self.target, case)
            self.stats["fresh"] += 1
            self.last_path = "fresh"
            return outcome
        if runner is None:
            self._count_fresh()
            outcome, runner = _run_fresh(self.target, case)
            self.stats["fresh"] += 1
            self.last_path = "fresh"
        else:
            self.last_path = ("traced" if runner.compiled and not self._spot_checked
                              else "untraceable" if key in self._eager_only else "reused")
        if self.reuse and runner is not None and not has_error(outcome) and key not in self._no_reuse:
            self._pool[key] = runner
            while len(self._pool) > self.max_layers:
                self._pool.popitem(last=False)
        return outcome

    def _reuse(self, runner, case, compile):
        """The case's outcome on an already built layer; None where it must be judged on a fresh
        layer instead: the layer could not be reloaded, or the compiled call (the harness's speed-up,
        which the target asked for) failed, or an eager reuse failed and `retry_eager_reuse`."""
        outcome = {"steps": [], "error": None}
        try:
            runner.load_case(case)
            runner.reuses += 1
            if compile and runner.reuses > self.compile_after:
                runner.compile()
        except Exception:  # noqa: BLE001 - a layer that cannot be reloaded is rebuilt
            return None
        runner.eager_call = bool(runner.compiled and self.eager_every and runner.reuses % self.eager_every == 0)
        try:
            _run_steps(runner, case["steps"] or [{"op": "call"}], outcome)
        finally:
            eager, runner.eager_call = runner.eager_call, False
        self.stats["reused"] += 1
        self.stats["spot_checks"] += eager
        self._spot_checked = eager
        if has_error(outcome) and ((runner.compiled and not eager) or self.retry_eager_reuse):
            return None
        return outcome

    def count_fresh(self, path):
        """Count a fresh layer built beside run() (a worker's dropout samples), towards clear_every."""
        self._count_fresh()
        self.stats["fresh"] += 1
        self.last_path = path

    def _count_fresh(self):
        self._fresh_since_clear += 1
        if self.target.clear_session is not None and self._fresh_since_clear >= self.clear_every:
            self._pool.clear()  # layers built before clear_session must not be mixed with later ones
            self.target.clear_session()
            if self.on_clear is not None:
                self.on_clear()
            self._fresh_since_clear = 0
