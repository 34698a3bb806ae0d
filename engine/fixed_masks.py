"""GRAD-09 inside one implementation: with dropout while training, is its gradient that of its own
forward pass with the same masks? The masks are fixed by seeding the implementation; gradients under
dropout are never compared with the oracle's (spec/gradients.md, docs/gradients.md)."""
import numpy as np

from .cases import normalize
from .execute import Runner, to_numpy
from .gradients import cotangents_for, flat_leaves


# The central difference along a random unit direction, extrapolated from steps h and h/2 (Richardson:
# truncation error O(h^4), ~1e-8 here), agrees with the gradient to FIXED_MASK_RTOL of the gradient's
# norm. The step is large so that an implementation computing float64 at float32 precision (a known
# Keras 3 bug) still resolves: its rounding noise, ~eps32 * |L| / h, stays near 1e-5. A gradient that
# ignores or misplaces a mask is off by a sizeable part of its norm.
FIXED_MASK_STEP = 1e-2
FIXED_MASK_RTOL = 1e-3


def fixed_mask_note(label, status, detail):
    """The report's line for one GRAD-09 check (fixed_mask_check's answer): which way it was checked
    and how that went. Gradients under dropout are never compared with the oracle's (its masks cannot
    be handed over), nor by their distribution."""
    if status == "unsupported":
        return f"{label}: not checked ({detail}); no comparison of the gradient's distribution either"
    return f"{label}: {status}, with the masks fixed by seeding, against the implementation's own forward pass"


def fixed_mask_check(target, case, seed=0):
    """GRAD-09 inside one implementation: with `training=True` and dropout, is its gradient that of
    its own forward pass with the same masks? The masks are fixed by seeding the implementation
    (`rnnconf_set_seed`) before building a fresh layer for each evaluation, so every evaluation draws
    the same masks; whether they did is checked (the same call twice gives the same results). The
    gradient along a random direction of the inputs and weights is then compared with the central
    difference of the loss (float64 cases: FIXED_MASK_RTOL).

    Returns (status, detail): "pass", "fail", or "unsupported" where the masks cannot be fixed this
    way (no rnnconf_set_seed, no gradient hook, or two seeded runs differ)."""
    case = normalize(case)
    set_seed = target.get("rnnconf_set_seed")
    if set_seed is None or target.gradients is None:
        return "unsupported", "the masks cannot be fixed: no rnnconf_set_seed or no gradient hook"
    step = (case["steps"] or [{"op": "call"}])[0]

    def run(weight_delta=None, input_delta=None, differentiate=False):
        set_seed(seed)
        runner = Runner(target, case)
        runner.prepare()
        if weight_delta is not None:
            runner.layer.set_weights([w + d for w, d in zip(runner.layer.get_weights(), weight_delta)])
        if input_delta is not None:
            eager = runner._eager_forward
            runner._forward = lambda x, kwargs: eager(x + input_delta.astype(x.dtype), kwargs)
        result = to_numpy(runner.call(0, step, differentiate=differentiate))
        return result, runner.last_gradients, runner.layer.get_weights()

    result, grads, weights = run(differentiate=True)
    again, _, _ = run()
    if any(not np.array_equal(a, b) for a, b in zip(flat_leaves(result), flat_leaves(again))):
        return "unsupported", "the masks cannot be fixed: two seeded runs of the same call differ"
    c = cotangents_for(case, 0)([np.asarray(y) for y in flat_leaves(result)])

    def loss(values):
        return sum(float(np.sum(ci * np.asarray(y, np.float64))) for ci, y in zip(c, flat_leaves(values)))
    rng = np.random.default_rng([case["seed"], 11])
    x_shape = np.shape(grads["inputs"])
    d_x = rng.standard_normal(x_shape)
    d_w = [rng.standard_normal(np.shape(w)) for w in weights]
    norm = np.sqrt(np.sum(d_x ** 2) + sum(np.sum(d ** 2) for d in d_w))
    d_x, d_w = d_x / norm, [d / norm for d in d_w]
    g_w = [np.zeros(np.shape(w)) if g is None else np.asarray(g, np.float64) for w, g in zip(weights, grads["weights"])]
    if len(g_w) != len(weights):
        return "fail", f"{len(g_w)} weight gradients for {len(weights)} weights"
    analytic = float(np.sum(np.asarray(grads["inputs"], np.float64) * d_x) + sum(np.sum(g * d) for g, d in zip(g_w, d_w)))
    def central(h):
        up = loss(run([h * d for d in d_w], h * d_x)[0])
        down = loss(run([-h * d for d in d_w], -h * d_x)[0])
        return (up - down) / (2 * h)
    numeric = (4 * central(FIXED_MASK_STEP / 2) - central(FIXED_MASK_STEP)) / 3
    scale = np.sqrt(np.sum(np.asarray(grads["inputs"], np.float64) ** 2) + sum(np.sum(g ** 2) for g in g_w))
    detail = (f"directional derivative {analytic:.10g} from the gradient, {numeric:.10g} from the forward pass "
              f"with the same masks (gradient norm {scale:.3g})")
    if abs(analytic - numeric) <= FIXED_MASK_RTOL * max(scale, 1e-12):
        return "pass", detail
    return "fail", detail
