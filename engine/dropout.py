"""Dropout while training, judged by its values.

With `training=True` and a dropout rate above 0 both sides draw random masks, so one run of each
cannot be compared element by element. Instead each side is sampled many times on one built layer
(sampling.run_samples) and `compare_samples` tests, per element of every result, whether the two
sets of samples come from the same distribution.

The statistic. For every result leaf of every step, scalar features of one sample:
  value       each element;
  change      each element of a returned sequence minus the same element one step earlier (the
              dependence between timesteps: one mask per call against a mask per step);
  row pair    each element minus the same element of the next batch row (the dependence between
              rows: masks drawn per sample against one mask shared by the batch).
Each feature is tested twice with the two-sample Kolmogorov-Smirnov statistic D over n samples a
side: on its values (where the distribution lies), and on its distance from the pooled median (how
far it spreads; KS alone sees a change of spread poorly). The p-value is exact: for equal sample
sizes, P(D >= k/n) = 2 sum_j (-1)^(j+1) C(2n, n-jk) / C(2n, n) (Gnedenko and Korolyuk) is the
distribution of D over all ways to split the pooled samples in two. With ties (dropout makes outputs
discrete) D is evaluated at fewer cut points and can only be smaller; pooled values within
compare.py's rounding bound of their neighbour count as tied (tf_keras and NumPy round differently,
and one atom must not look like two), which only removes cut points too. The pooled median does not
depend on how the pool is split either. A check is `m` such tests and flags one only below
ALPHA / m (Bonferroni), so

    P(compare_samples reports a value mismatch | both sides sample the same distribution) <= ALPHA = 1e-6

for any output distribution and any number of elements, given independent, identically distributed
samples on each side. Measured on 300 seeded checks of identical synthetic distributions at a loose
alpha of 0.05, 0.7% to 1.3% flagged: the bound is conservative.

SAMPLES = 400 comes from measured power (tests/test_dropout_stats.py, run as a script: 7 cases x 6
planted bugs of tests/fuzz_targets/dropout_*.py, 20 seeded checks each): at 400 a side, 33 of the 36
pairs where a bug can show are caught in at least 95% of checks (all but one at 100%), against 28 at
200. The misses need results that say little: a GRU returning only its last state (recurrent dropout
ignored: 15%, 95% at 800; masks per timestep: 0%, which shared_mask_violations catches exactly) and a
masked stateful LSTM with recurrent dropout 0.25 under input dropout 0.5 (recurrent dropout ignored:
0%, 30% at 800).

Exact properties, where tf_keras fixes them (eagerly: traced tf_keras draws a new mask at every
step of its while loop, and its fused GRU and LSTM layers draw a new input mask per step even
eagerly, so probe_applies leaves those out; the distribution check covers them):
  shared_mask_violations   one mask per call, for every timestep, from a metamorphic twin of the
                           case whose recurrence forgets (outputs then settle iff masks are shared);
  not_training_mismatches  with training False or None the results are the dropout-free ones.
"""
import math
from functools import lru_cache

import numpy as np

from . import compare, execute, sampling
from .cases import build_layer, flag, normalize
from .compare import Mismatch

ALPHA = 1e-6           # false-alarm bound of one compare_samples call
SAMPLES = 400          # samples a side: see the module docstring and tests/test_dropout_stats.py
IMPL_PER_CALL = 8      # batch copies per call when sampling the implementation: 50 calls for 400
# Pooled values closer than this many times compare.py's rounding bound are one value to the test.
# Not more: ties chain, and a wider allowance merged whole narrow distributions into one value
# (a mask per timestep on an LSTM went from 95% caught to 0% at 16).
TIE_FACTOR = 1


def sample(target, case, n=SAMPLES, per_call=1, seed=0):
    """sampling.run_samples with the target's random draws seeded first (its `rnnconf_set_seed` hook:
    adapters/namespaces.py), so that a check replays: the same verdict every run. A target in
    another interpreter (namespaces.RemoteTarget) samples in its worker."""
    if getattr(target, "remote", False):
        return target.sample(case, n, per_call=per_call, seed=seed)
    set_seed = target.get("rnnconf_set_seed")
    if set_seed is not None:
        set_seed(seed)
    return sampling.run_samples(target, case, n, per_call=per_call)


def sample_pair(impl, oracle, case, n=SAMPLES, seed=0, impl_per_call=IMPL_PER_CALL):
    """(oracle samples, implementation samples) of a stochastic case. The oracle's come from one call
    with the batch repeated n times: tf_keras draws its masks per element, so the copies are
    independent samples, and one eager call costs what one sample would. The implementation's come
    from n / impl_per_call calls, enough calls that masks kept from one call to the next show, and
    few enough copies per call that masks shared by the rows of a batch show too (both measured:
    caught in 10 of 10 seeded checks of each power case at 8 copies, as at 1)."""
    return (sample(oracle, case, n, per_call=n, seed=seed),
            sample(impl, case, n, per_call=impl_per_call, seed=seed))


# ---- the two-sample test --------------------------------------------------------------------------
def ks_counts(a, b, tie=0.0):
    """n * D of the two-sample KS statistic per column of `a` and `b`, both (n, columns). Pooled values
    within `tie` of their neighbour count as equal (rounding differs between implementations, and
    dropout makes outputs discrete, so equal atoms must not look like distinct ones); NaN counts as
    +inf. The cut points then depend on the pooled values only, so the bound of ks_pvalue holds."""
    n = a.shape[0]
    pooled = np.nan_to_num(np.concatenate([a, b]).astype(np.float64), nan=np.inf, posinf=np.inf, neginf=-np.inf)
    order = np.argsort(pooled, axis=0, kind="stable")
    values = np.take_along_axis(pooled, order, axis=0)
    walk = np.cumsum(np.where(order < n, 1, -1), axis=0)  # (# of a) - (# of b) at or below each value
    # Only the last value of a run of ties is a point of both empirical distribution functions.
    last = np.ones(values.shape, bool)
    with np.errstate(invalid="ignore"):  # inf - inf: a tie
        last[:-1] = (values[1:] - values[:-1]) > tie
    return np.abs(np.where(last, walk, 0)).max(axis=0)


def ks_pvalue(n, k):
    """P(n * D >= k) for two independent samples of n from one distribution: exact for a continuous
    one, an upper bound otherwise (Gnedenko-Korolyuk)."""
    k = int(k)
    if k <= 0:
        return 1.0
    log_center = math.lgamma(2 * n + 1) - 2 * math.lgamma(n + 1)
    total = 0.0
    for j in range(1, n // k + 1):
        term = math.exp(math.lgamma(2 * n + 1) - math.lgamma(n - j * k + 1) - math.lgamma(n + j * k + 1)
                        - log_center)
        total += term if j % 2 else -term
        if term < 1e-300:
            break
    return min(1.0, 2.0 * total)


@lru_cache(maxsize=256)
def critical_count(n, level):
    """The smallest k with ks_pvalue(n, k) <= level (n + 1: no k is)."""
    lo, hi = 1, n + 1  # ks_pvalue falls as k grows: bisect
    while lo < hi:
        mid = (lo + hi) // 2
        if ks_pvalue(n, mid) <= level:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---- features of one result leaf ------------------------------------------------------------------
def _features(samples, case, sequence):
    """[(name, (n, columns) array, index of each column)] for one leaf's samples (n, *shape).
    `sequence`: the leaf is a returned sequence (its time axis then gives the `change` feature)."""
    n, shape = samples.shape[0], samples.shape[1:]
    out = [("value", samples.reshape(n, -1), list(np.ndindex(*shape)))]
    time_major = flag(case, "time_major")
    batch_axis = 1 if (sequence and time_major) else 0
    if sequence and len(shape) >= 2:
        time_axis = 0 if time_major else 1
        change = np.diff(samples, axis=1 + time_axis)
        out.append((f"change from the step before (axis {time_axis})", change.reshape(n, -1),
                    [_shift(i, time_axis, 1) for i in np.ndindex(*change.shape[1:])]))
    if len(shape) >= 1 and shape[batch_axis] >= 2:
        rows = np.diff(samples, axis=1 + batch_axis)
        out.append((f"minus the previous batch row (axis {batch_axis})", rows.reshape(n, -1),
                    [_shift(i, batch_axis, 1) for i in np.ndindex(*rows.shape[1:])]))
    return out


def _shift(index, axis, by):
    return tuple(v + by if a == axis else v for a, v in enumerate(index))


def _leaf_tests(exp, act, case, sequence, tie):
    """Per feature and test: (name, n * D per column, expected columns, actual columns, column indices).
    `tie`: the rounding allowance of one value (differences of two values get twice that)."""
    for (name, e, index), (_, a, _) in zip(_features(exp, case, sequence), _features(act, case, sequence)):
        allowance = tie if name == "value" else 2 * tie
        yield name, ks_counts(e, a, allowance), e, a, index
        center = np.median(np.concatenate([e, a]), axis=0)
        e, a = np.abs(e - center), np.abs(a - center)
        yield f"{name}, spread (distance from the pooled median)", ks_counts(e, a, allowance), e, a, index


# ---- comparing samples ----------------------------------------------------------------------------
def first_sample(outcome):
    """An outcome of run_samples as a plain outcome: its first sample (errors kept)."""
    steps = []
    for step in outcome["steps"]:
        if "error" in step:
            steps.append(step)
        else:
            steps.append({"op": step["op"], "result": _take(step["result"], 0)})
    return {"steps": steps, "error": outcome.get("error")}


def _take(nest, i):
    if nest is None:
        return None
    if isinstance(nest, list):
        return [_take(x, i) for x in nest]
    return np.asarray(nest)[i]


def compare_samples(expected, actual, case, alpha=ALPHA):
    """Mismatches between the oracle's samples `expected` and the implementation's `actual` (both from
    sampling.run_samples) of a stochastic case: errors, structure, shapes and dtypes as compare.compare
    finds them on one sample, then one "value" Mismatch per result leaf whose distributions differ
    (module docstring: at most `alpha` false alarms per call)."""
    case = normalize(case)
    structural = compare.compare(first_sample(expected), first_sample(actual), case, structural_only=True)
    if structural:
        return structural
    leaves = []  # (step, path, sequence, expected samples, actual samples)
    for index, (exp, act) in enumerate(zip(expected["steps"], actual["steps"])):
        if "error" in exp or "error" in act or exp["result"] is None:
            continue
        exp_leaves, act_leaves = _leaves(exp["result"]), _leaves(act["result"])
        for number, ((path, e), (_, a)) in enumerate(zip(exp_leaves, act_leaves)):
            if not np.issubdtype(e.dtype, np.floating):
                continue
            sequence = (number == 0 and exp["op"] == "call" and flag(case, "return_sequences"))
            leaves.append((index, path, sequence, e, a))
    n = min([min(e.shape[0], a.shape[0]) for *_, e, a in leaves], default=0)
    if n == 0:
        return []
    results = []
    for step, path, sequence, e, a in leaves:
        # Scaled by the oracle's values only, as compare.py's bound: wild values must not widen it.
        tie = TIE_FACTOR * compare.tolerance(e.dtype, compare.recurrent_steps(case, step), e[:n].astype(np.float64))
        for name, counts, ecols, acols, index in _leaf_tests(e[:n], a[:n], case, sequence, tie):
            results.append((step, path, name, counts, ecols, acols, index))
    tests = sum(r[3].size for r in results)
    level = alpha / tests
    limit = critical_count(n, level)
    out, seen = [], set()
    for step, path, name, counts, ecols, acols, index in results:
        flagged = np.flatnonzero(counts >= limit)
        if not flagged.size or (step, path) in seen:
            continue
        seen.add((step, path))
        worst = [r for r in results if r[0] == step and r[1] == path]
        failing = sum(int((r[3] >= limit).sum()) for r in worst)
        _, _, name, counts, ecols, acols, index = max(worst, key=lambda r: r[3].max())
        col = int(np.argmax(counts))
        k = int(counts[col])
        p = ks_pvalue(n, k)
        ev, av = ecols[:, col].astype(np.float64), acols[:, col].astype(np.float64)
        where = f"{path}[{', '.join(map(str, index[col]))}]"
        detail = (f"{where} {name}: oracle mean {ev.mean():.4g} sd {ev.std(ddof=1):.4g}, implementation "
                  f"mean {av.mean():.4g} sd {av.std(ddof=1):.4g} ({n} samples each); KS D={k / n:.3f}, "
                  f"p<={p:.2g} < {level:.2g} (alpha {alpha:g} over {tests} tests; {failing} flag)")
        out.append(Mismatch("value", step, path, detail, {
            "detail": detail, "test": "two-sample KS", "feature": name, "index": list(index[col]),
            "samples": n, "D": k / n, "p_value": p, "level": level, "alpha": alpha, "tests": tests,
            "failing_tests": failing, "expected_mean": float(ev.mean()), "expected_sd": float(ev.std(ddof=1)),
            "actual_mean": float(av.mean()), "actual_sd": float(av.std(ddof=1))}))
    return out


def _leaves(nest, path="output"):
    """[(path, array)] named as compare.compare names its mismatches: output, output[1], ..."""
    if isinstance(nest, list):
        out = []
        for i, item in enumerate(nest):
            out += _leaves(item, path if path == "output" and i == 0 else f"{path}[{i}]")
        return out
    return [(path, np.asarray(nest))]


# ---- exact properties -----------------------------------------------------------------------------
CONTRACTION = 1e-3     # recurrent kernels scaled by this: each step keeps ~1e-3 of the last state
CARRY_BIAS = -40.0     # the GRU update and the LSTM forget gate shut: sigmoid(-40) ~ 4e-18
PROBE = {"batch": 4, "timesteps": 12, "features": [3]}
PROBE_MASK = [[1] * 12, [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1], [1] * 10 + [0, 0], [0, 0] + [1] * 10]
SETTLED_AFTER = 5      # unmasked steps after which a shared-mask probe has settled to rounding


def dropout_free(case):
    """The case with every cell's dropout and recurrent_dropout removed."""
    case = normalize(case)
    cells = [{k: v for k, v in c.items() if k not in ("dropout", "recurrent_dropout")} for c in case["cells"]]
    return dict(case, cells=cells)


def not_training_mismatches(impl, oracle, case):
    """With `training` False or None (not passed), dropout must not act: the implementation's results
    of `case` against the oracle's of the same case without dropout, by compare.compare."""
    case = normalize(case)
    assert not case["training"], "only for cases that do not train"
    plain = dropout_free(case)
    expected, actual = execute.run(oracle, plain), execute.run(impl, case)
    recheck = compare.float64_recheck(lambda c: execute.run(oracle, c), plain)
    return compare.compare(expected, actual, plain, recheck_f64=recheck)


def fused_input_dropout(case):
    """Whether tf_keras runs the case's layer on its fused GRU or LSTM path with input dropout: a
    built-in GRU (reset_after) or LSTM layer with tanh and sigmoid, biases, no recurrent dropout, not
    unrolled, whatever the other flags and masks. That path drops the whole input with one mask before
    its loop, so every timestep gets a fresh input mask, eagerly too."""
    case = normalize(case)
    if case["layer"] not in ("GRU", "LSTM"):
        return False
    c = case["cells"][0]
    return bool(c.get("dropout", 0) > 0 and c.get("recurrent_dropout", 0) == 0 and not flag(case, "unroll")
                and c.get("activation", "tanh") == "tanh" and c.get("recurrent_activation", "sigmoid") == "sigmoid"
                and c.get("use_bias", True) and (case["layer"] == "LSTM" or c.get("reset_after", True)))


def probe_applies(case):
    """Whether shared_mask_violations can probe the case: built-in cells with biases, some dropout,
    and one mask per call being what the oracle does."""
    case = normalize(case)
    cells = case["cells"]
    return (all(c["kind"] in ("simple", "gru", "lstm") and c.get("use_bias", True) for c in cells)
            and any(c.get("dropout", 0) or c.get("recurrent_dropout", 0) for c in cells)
            and not case["embedding"] and not case["constants"]
            # The fused layers draw their input mask per timestep: the probe would flag the oracle itself.
            and not fused_input_dropout(case))


def probe_case(case):
    """The metamorphic twin of `case` for shared_mask_violations: its cells, layer, flags and dtype (a
    recurrence that keeps 1e-3 of its state settles below float32's rounding too), training,
    returning sequences, on a fixed geometry (PROBE), with a holed mask if `case` has one."""
    case = normalize(case)
    flags = dict(case["flags"], return_sequences=True)
    return normalize(dict(case, **PROBE, training=True, flags=flags, initial_state=False,
                          mask=PROBE_MASK if case["mask"] is not None else None,
                          steps=[{"op": "call"}] * (2 if flag(case, "stateful") else 1)))


def _forgetful_weights(weights, case):
    """Weights (Keras order, per cell: kernel, recurrent kernel, bias) under which each step depends on
    the last state only through recurrent kernels CONTRACTION times their usual size: GRU update and
    LSTM forget gates shut. Constant inputs then settle to a fixed point within a few steps iff every
    step applies the same masks."""
    rng = np.random.default_rng([case["seed"], 1913])
    out, i = [], 0
    for cell in case["cells"]:
        kernel, recurrent, bias = weights[i:i + 3]
        i += 3
        u = cell["units"]
        kernel = rng.normal(0.0, 1.0 / np.sqrt(kernel.shape[0]), kernel.shape)
        recurrent = rng.normal(0.0, CONTRACTION / np.sqrt(recurrent.shape[0]), recurrent.shape)
        bias = rng.normal(0.0, 0.5, bias.shape)
        if cell["kind"] == "gru":
            if bias.ndim == 2:  # reset_after: input and recurrent bias rows
                bias[0, :u], bias[1, :u] = CARRY_BIAS, 0.0
            else:
                bias[:u] = CARRY_BIAS
        elif cell["kind"] == "lstm":
            bias[u:2 * u] = CARRY_BIAS
        out += [w.astype(np.float64) for w in (kernel, recurrent, bias)]
    return out


def shared_mask_violations(target, case, call=None):
    """Where the target draws more than one dropout mask per call: Mismatch records (kind "value"),
    empty if none. Runs probe_case(case): every timestep gets the same input, recurrent kernels are
    tiny and carry gates shut (_forgetful_weights), so with one input and one recurrent mask per call
    the outputs reach a fixed point after SETTLED_AFTER unmasked steps and then stay there to
    rounding, while a mask drawn per step moves them at every step (input dropout by the inputs'
    size, recurrent dropout by ~CONTRACTION). A stateful layer is called twice (fresh masks on the
    second call, which settles again). `call(layer, inputs, kwargs)` makes the calls (default: the
    layer's own, eagerly). An error is returned as the one Mismatch, of kind "error", its
    stats["actual"] execute.describe_error's record (stage "construct" or "step i"). A check of a
    target only where probe_applies(case): elsewhere one mask per call is not the oracle's behaviour."""
    if getattr(target, "remote", False) and call is None:
        return target.call(shared_mask_violations, case)  # the layer lives in the target's worker
    call = call or (lambda layer, inputs, kwargs: layer(inputs, **kwargs))
    probe = probe_case(case)
    rng = np.random.default_rng([probe["seed"], 1914])
    b, t, f = probe["batch"], probe["timesteps"], probe["features"][0]
    # In the layer's dtype: an implementation need not cast float64 inputs to a float32 layer's.
    x = np.repeat(rng.normal(0.0, 1.0, (b, 1, f)), t, axis=1).astype(probe["dtype"])
    time_major = flag(probe, "time_major")
    kwargs = {"training": True}
    if probe["mask"] is not None:
        mask = np.asarray(probe["mask"], bool)
        kwargs["mask"] = mask.T.copy() if time_major else mask
    else:
        mask = np.ones((b, t), bool)
    x_in = np.swapaxes(x, 0, 1).copy() if time_major else x
    try:
        layer = build_layer(target, probe)
    except Exception as e:  # noqa: BLE001
        return [_error(e, "construct", -1)]
    try:
        layer(x_in, **kwargs)  # builds the weights
        layer.set_weights(_forgetful_weights([np.asarray(w) for w in layer.get_weights()], probe))
        if flag(probe, "stateful"):
            target.reset_states(layer)
    except Exception as e:  # noqa: BLE001
        return [_error(e, "step 0", 0)]
    backwards = flag(probe, "go_backwards")
    out = []
    for number in range(len(probe["steps"])):
        try:
            result = execute.to_numpy(call(layer, x_in, kwargs))
        except Exception as e:  # noqa: BLE001
            return out + [_error(e, f"step {number}", number)]
        seq = result[0] if isinstance(result, list) else result
        seq = np.swapaxes(seq, 0, 1) if time_major else seq  # (batch, position, units)
        bound = compare.tolerance(seq.dtype, compare.recurrent_steps(probe), seq)
        for row in range(b):
            # Output position p is processing step p: input time p, or t-1-p going backwards.
            positions = [p for p in range(t) if mask[row, t - 1 - p if backwards else p]]
            settled = seq[row, positions[SETTLED_AFTER:]]
            moved = np.abs(settled - settled[-1]).max(axis=1)
            if moved.max() > bound:
                p = positions[SETTLED_AFTER + int(np.argmax(moved))]
                detail = (f"call {number}, batch row {row}: with the same input at every step and a recurrence "
                          f"that forgets, the output still moves by {moved.max():.3g} (bound {bound:.2g}) at "
                          f"output step {p} after settling: more than one dropout mask per call")
                out.append(Mismatch("value", number, "output", detail,
                                    {"detail": detail, "row": row, "position": p, "moved": float(moved.max()),
                                     "bound": float(bound)}))
                break
    return out


def _error(exc, stage, step):
    err = execute.describe_error(exc, stage)
    return Mismatch("error", step, stage, f"the probe raised {err['type']}: {err['message'][:300]}",
                    {"expected": None, "actual": err})
