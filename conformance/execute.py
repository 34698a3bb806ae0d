"""Run one case on one Target and return its outcome as plain data.

Outcome: {"steps": [{"op": ..., "result": nested lists of ndarrays} or {"op": ..., "error": {...}}],
          "error": construction error or None}. Execution stops at the first error.

The first call is made twice: once to build the layer (weights exist only after it), then, after
the seed's weights are set (and a stateful layer reset), for real. An error in that first call is
the outcome of step 0, so first-call errors (ERR-04, ERR-05) stay visible.
"""
import numpy as np

from .cases import (build_embedding, build_layer, flag, inputs_for, mask_for, normalize, random_states,
                    state_structure, step_rng, weights_for)

_WRAPPED = "Exception encountered when calling layer"


def describe_error(exc, stage):
    message = str(exc)
    if message.startswith(_WRAPPED):  # tf_keras wraps errors raised inside call(): keep the core
        parts = message.split("\n\n")
        message = parts[1] if len(parts) > 1 else message
        message = message.split("\n\nCall arguments received")[0]
    return {"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
            "message": message[:4000], "stage": stage}


def to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.array(x)  # a copy: the result must not change when the layer runs again


def _native(target, x):
    if x is None:
        return None
    if isinstance(x, list):
        return [_native(target, v) for v in x]
    return target.to_native(x)


class Runner:
    """Holds one built layer for a case and runs its steps."""

    def __init__(self, target, case):
        self.target, self.case = target, normalize(case)
        self.layer = build_layer(target, self.case)
        self.embedding = build_embedding(target, self.case) if self.case["embedding"] else None

    def call(self, step_index, step):
        case, target = self.case, self.target
        x = inputs_for(case, step.get("input_step", step_index), step.get("batch"))
        if self.embedding is not None:
            x = self.embedding(x)
        kwargs = {}
        mask = mask_for(case)
        if mask is not None:
            kwargs["mask"] = mask
        if case["training"] is not None:
            kwargs["training"] = case["training"]
        if step.get("initial_state", case["initial_state"]):
            rng = step_rng(case, step_index, 2)
            batch = step.get("batch", case["batch"])
            kwargs["initial_state"] = _native(target, random_states(state_structure(case), batch, rng,
                                                                    case["dtype"]))
        if case["constants"]:
            rng = step_rng(case, step_index, 3)
            batch = step.get("batch", case["batch"])
            kwargs["constants"] = [target.to_native(rng.normal(0, 1, [batch] + list(s)).astype(case["dtype"]))
                                   for s in case["constants"]]
        if step.get("list_input"):  # [x, *initial_state, *constants] as one list (ERR-26, ERR-47)
            extra = (kwargs.pop("initial_state", None) or []) + (kwargs.pop("constants", None) or [])
            return self.layer([x] + list(extra), **kwargs)
        return self.layer(x, **kwargs)

    def reset(self, step_index, step):
        what = step.get("states")
        if what is None:
            return self.target.reset_states(self.layer)
        rng = step_rng(self.case, step_index, 4)
        states = random_states(state_structure(self.case), self.case["batch"], rng, self.case["dtype"])
        flat = _flatten(states)
        if what == "wrong_count":
            flat = flat + flat[:1]
        elif what == "wrong_batch":
            flat = [np.concatenate([s, s[:1]]) for s in flat]
        elif what == "wrong_width":
            flat = [np.concatenate([s, s[:, :1]], axis=1) for s in flat]
        return self.target.reset_states(self.layer, flat if len(flat) > 1 else flat[0])

    def prepare(self):
        """Build with the first call, then install the seed's weights (step 0's errors surface here)."""
        first = self.case["steps"][0] if self.case["steps"] else {"op": "call"}
        if first.get("op") == "call":
            self.call(0, first)
        weights = self.layer.get_weights()
        self.layer.set_weights(weights_for([(np.shape(w), np.asarray(w).dtype) for w in weights], self.case))
        if self.embedding is not None:
            emb = self.embedding.get_weights()
            self.embedding.set_weights(weights_for([(np.shape(w), np.asarray(w).dtype) for w in emb],
                                                   dict(self.case, seed=self.case["seed"] + 1)))
        if flag(self.case, "stateful"):
            self.target.reset_states(self.layer)

    def run_step(self, index, step):
        op = step.get("op", "call")
        if op == "call":
            return to_numpy(self.call(index, step))
        if op == "reset":
            self.reset(index, step)
            return None
        if op == "states":
            return to_numpy(list(self.layer.states))
        raise ValueError(f"unknown step op {op!r}")


def _flatten(x):
    if isinstance(x, list):
        return [leaf for item in x for leaf in _flatten(item)]
    return [x]


def run(target, case):
    """Execute a case; never raises for errors of the implementation, they are part of the outcome."""
    outcome = {"steps": [], "error": None}
    try:
        runner = Runner(target, case)
    except Exception as e:  # noqa: BLE001
        outcome["error"] = describe_error(e, "construct")
        return outcome
    steps = runner.case["steps"] or [{"op": "call"}]
    try:
        runner.prepare()
    except Exception as e:  # noqa: BLE001
        outcome["steps"].append({"op": steps[0].get("op", "call"), "error": describe_error(e, "step 0")})
        return outcome
    for index, step in enumerate(steps):
        try:
            outcome["steps"].append({"op": step.get("op", "call"), "result": runner.run_step(index, step)})
        except Exception as e:  # noqa: BLE001
            outcome["steps"].append({"op": step.get("op", "call"), "error": describe_error(e, f"step {index}")})
            break
    return outcome
