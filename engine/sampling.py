"""Samples of a stochastic case (dropout while training): the case run many times a side, as few calls as
its layer allows (copies of the batch tiled into one call where the case permits), the results stacked."""
import numpy as np

from .cases import flag, normalize
from .execute import Runner, describe_error


# ---- samples of a stochastic case ---------------------------------------------------------------
def samples_per_call(case, n, per_call):
    """The copies of the batch run_samples puts in one call: `per_call`, but 1 where a step resets to
    given states or passes a list input (those run untiled)."""
    steps = normalize(case)["steps"] or [{"op": "call"}]
    if any(s.get("list_input") or (s.get("op") == "reset" and s.get("states")) for s in steps):
        return 1
    return max(1, min(int(per_call), int(n)))


def sample_calls(case, n, per_call):
    """How many times run_samples runs the case's steps for `n` samples (its cost, in runs of a case)."""
    per_call = samples_per_call(case, n, per_call)
    return -(-int(n) // per_call) * max(1, len(normalize(case)["steps"] or [{"op": "call"}]))


def run_samples(target, case, n, per_call=1):
    """`n` outcomes of one case on one built layer, for cases whose results are random (dropout while
    training): {"steps": [{"op", "result"}...], "error": None, "samples": n}, each result leaf stacked
    on a new first axis of length n (None results, of resets, stay None).

    A sample is one run of all the case's steps; a stateful layer is reset between samples. With
    `per_call` > 1 each call carries that many copies of the batch (inputs, mask, initial states and
    constants tiled along the batch axis; a stateful layer is built for the larger batch) and its
    results are split back into samples, so n samples cost ceil(n / per_call) calls. That is sound
    only for a target whose dropout masks are independent across the rows of a batch, as tf_keras'
    are (drawn per element): sample the implementation under test with per_call=1, so that a mask
    shared across rows, or reused across calls, shows. Steps that reset to given states or pass a
    list input are run untiled. The first error ends the run and is the outcome, as in run(); a tiled
    run that fails, or whose results cannot be split back into the copies (an implementation that
    returns a wrong shape), is run again untiled, so that the outcome speaks of the case's own shapes."""
    case = normalize(case)
    steps = case["steps"] or [{"op": "call"}]
    per_call = samples_per_call(case, n, per_call)
    outcome = {"steps": [], "error": None, "samples": 0}
    try:
        runner = Runner(target, dict(case, batch=case["batch"] * per_call))
    except Exception as e:  # noqa: BLE001
        if per_call > 1:
            return run_samples(target, case, n, per_call=1)
        outcome["error"] = describe_error(e, "construct")
        return outcome
    runner.case = case
    if per_call > 1:
        runner._forward = _tiled_forward(runner, per_call)
    try:
        runner.prepare()
    except Exception as e:  # noqa: BLE001
        if per_call > 1:
            return run_samples(target, case, n, per_call=1)
        outcome["steps"].append({"op": steps[0].get("op", "call"), "error": describe_error(e, "step 0")})
        return outcome
    samples = [[] for _ in steps]  # per step: one result nest per sample
    while len(samples[-1]) < n:
        if samples[0] and flag(case, "stateful"):
            runner.load_case(case)  # zero states: every sample starts as a fresh layer does
        for index, step in enumerate(steps):
            try:
                result = runner.run_step(index, step)
            except Exception as e:  # noqa: BLE001
                if per_call > 1:
                    return run_samples(target, case, n, per_call=1)
                outcome["steps"] = [{"op": s.get("op", "call"), "result": _stack(r)}
                                    for s, r in zip(steps[:index], samples)]
                outcome["steps"].append({"op": step.get("op", "call"), "error": describe_error(e, f"step {index}")})
                outcome["samples"] = len(samples[index])
                return outcome
            try:
                copies = _split_copies(result, per_call, case, step)
            except ValueError:
                # A result that is not `per_call` copies of the batch (a wrong shape): run untiled, so
                # the outcome has the implementation's own shapes for the judge, not a split's error.
                return run_samples(target, case, n, per_call=1)
            samples[index].extend(copies)
    outcome["steps"] = [{"op": s.get("op", "call"), "result": _stack(r[:n])} for s, r in zip(steps, samples)]
    outcome["samples"] = n
    return outcome


def _tiled_forward(runner, copies):
    """The runner's eager call with every batch-sized argument repeated `copies` times."""
    forward, to_native = runner._eager_forward, runner.target.to_native
    time_axis_first = flag(runner.case, "time_major")

    def repeat(x, axis):
        return np.concatenate([np.asarray(x)] * copies, axis=axis)

    def native(x):
        if isinstance(x, (list, tuple)):  # keeps tuples: an initial_state form is part of the case
            return type(x)(native(v) for v in x)
        return to_native(repeat(x, 0))

    def call(x, kwargs):
        kwargs = dict(kwargs)
        batch_axis = 1 if time_axis_first and not runner.case["embedding"] else 0
        if kwargs.get("mask") is not None:
            kwargs["mask"] = repeat(kwargs["mask"], 1 if time_axis_first else 0)
        for key in ("initial_state", "constants"):
            if kwargs.get(key) is not None:
                kwargs[key] = native(kwargs[key])
        return forward(repeat(x, batch_axis), kwargs)
    return call


def _split_copies(result, copies, case, step):
    """A step result of a tiled call as `copies` results, one per copy of the batch. ValueError where a
    result's batch axis does not hold `copies` batches (a wrong shape would split into wrong pieces)."""
    if copies == 1:
        return [result]
    first, batch = [True], step.get("batch", case["batch"])

    def split(x):
        if x is None:
            return [None] * copies
        if isinstance(x, list):
            parts = [split(v) for v in x]
            return [[p[i] for p in parts] for i in range(copies)]
        # The sequence output of a time-major layer is (timesteps, batch, ...); all else is batch-first.
        axis = 1 if (first[0] and step.get("op", "call") == "call" and flag(case, "time_major")
                     and flag(case, "return_sequences")) else 0
        first[0] = False
        if np.ndim(x) <= axis or np.shape(x)[axis] != copies * batch:
            raise ValueError(f"a tiled result of shape {np.shape(x)} is not {copies} copies of a batch of "
                             f"{batch} on axis {axis}")
        return np.split(x, copies, axis=axis)
    return split(result)


def _stack(results):
    """Results of several samples (nests of arrays) as one nest of arrays stacked on a first axis."""
    first = results[0]
    if first is None:
        return None
    if isinstance(first, list):
        return [_stack([r[i] for r in results]) for i in range(len(first))]
    return np.stack(results)
