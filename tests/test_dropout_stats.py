"""Dropout judged by its values (engine/dropout.py): the statistic's false-alarm control, the
planted dropout bugs it must catch, the oracle behaviour it relies on, and sampling.run_samples.

The power table behind dropout.SAMPLES is measured by running this file:

    PYTHONPATH=. python tests/test_dropout_stats.py [--oracle reference] [--n 100,200,400,800] [--reps 20]

(the reference stands in for the oracle there, tiled, for speed: test_the_reference_is_not_flagged
shows the two agree).
"""
import argparse
import itertools
import math
import time

import numpy as np
import pytest

from rnnconf.engine import dropout, execute, judge, sampling
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import normalize

BUGS = ("dropout_no_scaling", "dropout_recurrent_ignored", "dropout_ignored", "dropout_mask_per_timestep",
        "dropout_shared_across_batch", "dropout_rate_as_keep", "dropout_mask_kept_across_calls")


def seeded(case, base):
    """The case with each cell seeded (base, base + 1, ...): the reference's draws replay."""
    return dict(case, cells=[dict(c, seed=base + i) for i, c in enumerate(case["cells"])])


# ---- the two-sample test --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_ks_pvalue_is_the_distribution_over_all_splits_of_the_pool(n):
    """For 2n distinct values, ks_pvalue(n, k) is exactly the share of the C(2n, n) ways to split
    them into two samples of n whose statistic reaches k."""
    values = np.arange(2.0 * n)
    counts = []
    for first in itertools.combinations(range(2 * n), n):
        rest = [i for i in range(2 * n) if i not in first]
        counts.append(int(dropout.ks_counts(values[list(first)][:, None], values[rest][:, None])[0]))
    counts = np.array(counts)
    for k in range(0, n + 2):
        assert dropout.ks_pvalue(n, k) == pytest.approx(np.mean(counts >= k), abs=1e-12), k


def test_ties_only_make_the_test_more_cautious():
    """With heavy ties (values from a 3-atom distribution, or within the tie allowance) the share of
    splits reaching each k never exceeds ks_pvalue(n, k)."""
    n = 6
    pools = [np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2], float),
             np.array([0, 1e-9, 2e-9, 1, 1, 1 + 1e-9, 3, 3, 3, 4, 4, 4], float)]
    for pool in pools:
        counts = []
        for first in itertools.combinations(range(2 * n), n):
            rest = [i for i in range(2 * n) if i not in first]
            counts.append(int(dropout.ks_counts(pool[list(first)][:, None], pool[rest][:, None], tie=1e-8)[0]))
        counts = np.array(counts)
        for k in range(1, n + 1):
            assert np.mean(counts >= k) <= dropout.ks_pvalue(n, k) + 1e-12


def test_critical_count_is_the_first_count_at_the_level():
    for n, level in [(50, 0.05), (400, 1e-9), (400, 1e-6 / 126), (1000, 1e-8)]:
        k = dropout.critical_count(n, level)
        assert dropout.ks_pvalue(n, k) <= level < dropout.ks_pvalue(n, k - 1)


def _synthetic(rng, n, atoms):
    """n samples of a (2, 4, 3) result shaped like dropout's: a random mask over `atoms` feature bits
    picks each value (few distinct values, many ties), plus a continuous part when atoms is None."""
    weights = np.random.default_rng(5).normal(size=(2, 4, 3, 6))  # the same "layer" for every call
    masks = rng.random((n, 1, 1, 1, 6)) < 0.75
    values = np.tanh((weights * masks / 0.75).sum(axis=-1))
    if atoms is None:
        values = values + rng.normal(0, 0.1, values.shape)
    return values


@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_one_test_rejects_at_most_its_level(kind):
    """Per test: over 4,000 seeded pairs of samples (n=40) from one distribution, the share with
    ks_pvalue below 0.05 stays within 0.05 (plus 3 sigma); ties make it smaller, not larger."""
    rng = np.random.default_rng(11)
    trials, n, level = 4000, 40, 0.05
    gen = (lambda size: rng.integers(0, 3, size).astype(float)) if kind == "discrete" else rng.standard_normal
    a, b = gen((n, trials)), gen((n, trials))
    rejected = dropout.ks_counts(a, b) >= dropout.critical_count(n, level)
    sigma = math.sqrt(level * (1 - level) / trials)
    assert rejected.mean() <= level + 3 * sigma


@pytest.mark.parametrize("atoms", [6, None])
def test_compare_samples_controls_false_alarms_over_all_its_tests(atoms):
    """A whole check (every element, step change and row pair, on values and spreads) run at a loose
    alpha of 0.05 on 300 seeded pairs from identical distributions flags at most that share (plus
    3 sigma): the Bonferroni bound holds over its correlated tests. At dropout.ALPHA, 100 further
    pairs flag nothing."""
    rng = np.random.default_rng(12)
    case = normalize({"flags": {"return_sequences": True}, "training": True,
                      "cells": [{"kind": "simple", "units": 3, "dropout": 0.25}]})

    def outcome(n):
        return {"steps": [{"op": "call", "result": _synthetic(rng, n, atoms)}], "error": None}
    loose = sum(bool(dropout.compare_samples(outcome(60), outcome(60), case, alpha=0.05)) for _ in range(300))
    assert loose <= 300 * 0.05 + 3 * math.sqrt(300 * 0.05 * 0.95)
    assert not any(dropout.compare_samples(outcome(200), outcome(200), case) for _ in range(100))


def test_rounding_is_not_a_difference_but_a_shift_is():
    """Samples equal up to float32 rounding (as tf_keras and NumPy differ) pass; the same samples
    moved by 1% of their size, or blown up, fail, with a detail that names both sides' statistics."""
    rng = np.random.default_rng(13)
    case = normalize({"flags": {"return_sequences": True}, "training": True, "dtype": "float32",
                      "cells": [{"kind": "simple", "units": 3, "dropout": 0.25}]})
    base = _synthetic(rng, 400, 6).astype(np.float32)
    rounded = (base * (1 + rng.normal(0, 3e-7, base.shape))).astype(np.float32)
    wrap = lambda x: {"steps": [{"op": "call", "result": x}], "error": None}  # noqa: E731
    assert dropout.compare_samples(wrap(base), wrap(rounded), case) == []
    moved = dropout.compare_samples(wrap(base), wrap((base * 1.01).astype(np.float32)), case)
    assert len(moved) == 1 and moved[0].kind == "value" and moved[0].path == "output"
    for word in ("oracle mean", "implementation mean", "sd", "p<=", "KS D="):
        assert word in moved[0].detail
    assert moved[0].stats["p_value"] < moved[0].stats["level"]
    # The rounding allowance scales with the oracle's values, not with an implementation's wild ones.
    assert dropout.compare_samples(wrap(base), wrap(base * np.float32(1e30)), case)


def test_structure_and_errors_are_judged_before_values():
    """compare_samples reports a shape difference or an error as compare.compare does, on one sample."""
    case = normalize({"training": True, "cells": [{"kind": "simple", "units": 3, "dropout": 0.5}]})
    good = {"steps": [{"op": "call", "result": np.zeros((10, 2, 3))}], "error": None}
    narrow = {"steps": [{"op": "call", "result": np.zeros((10, 2, 2))}], "error": None}
    raised = {"steps": [{"op": "call", "error": {"type": "ValueError", "mro": ["ValueError"], "message": "x",
                                                  "stage": "step 0"}}], "error": None}
    assert [m.kind for m in dropout.compare_samples(good, narrow, case)] == ["shape"]
    assert [m.kind for m in dropout.compare_samples(good, raised, case)] == ["error"]


# ---- planted bugs, the reference and the oracle ---------------------------------------------------
# Seen by every planted bug with power 1.0 at 200 samples a side (20 of 20 seeded runs; at 400 too).
BUG_CASE = normalize({"cells": [{"kind": "simple", "units": 3, "dropout": 0.25, "recurrent_dropout": 0.25}],
                      "flags": {"return_sequences": True, "return_state": True}, "training": True})


@pytest.fixture(scope="module")
def oracle():
    return namespaces.resolve("tf_keras")


@pytest.fixture(scope="module")
def oracle_samples(oracle):
    return dropout.sample(oracle, BUG_CASE, dropout.SAMPLES, per_call=dropout.SAMPLES, seed=3)


@pytest.mark.parametrize("bug", BUGS)
def test_each_planted_bug_is_flagged_against_the_oracle(bug, oracle_samples):
    """Every planted dropout bug changes the distribution the check sees, at dropout.SAMPLES."""
    impl = namespaces.resolve(f"fuzz_targets.{bug}")
    actual = dropout.sample(impl, seeded(BUG_CASE, 21), dropout.SAMPLES, per_call=dropout.IMPL_PER_CALL)
    mismatches = dropout.compare_samples(oracle_samples, actual, BUG_CASE)
    assert mismatches and all(m.kind == "value" for m in mismatches), bug


def test_the_reference_is_not_flagged(oracle_samples):
    actual = dropout.sample(namespaces.resolve("reference"), seeded(BUG_CASE, 21), dropout.SAMPLES,
                            per_call=dropout.IMPL_PER_CALL)
    assert dropout.compare_samples(oracle_samples, actual, BUG_CASE) == []


def test_the_probe_catches_a_mask_per_timestep_and_passes_the_reference():
    """The exact one-mask-per-call check flags the planted per-step bug (input and recurrent masks
    alike) and nothing on the reference, for each kind of cell."""
    reference = namespaces.resolve("reference")
    per_step = namespaces.resolve("fuzz_targets.dropout_mask_per_timestep")
    for cells in ([{"kind": "simple", "units": 3, "dropout": 0.5}],
                  [{"kind": "gru", "units": 3, "recurrent_dropout": 0.5}],
                  [{"kind": "lstm", "units": 3, "dropout": 0.25, "recurrent_dropout": 0.25}]):
        case = normalize({"cells": cells, "training": True})
        assert dropout.shared_mask_violations(reference, case) == []
        assert dropout.shared_mask_violations(per_step, case), cells


def test_the_oracle_draws_a_mask_per_step_when_traced_or_fused(oracle):
    """What the sampling relies on: eagerly, tf_keras draws one mask per call (test_dropout.py), but
    inside a tf.function its while loop draws a new one at every step, and its fused GRU and LSTM
    layers (no recurrent dropout) draw the input mask per timestep even eagerly. So samples are
    taken eagerly, and those fused layers are not probed."""
    import tensorflow as tf
    case = normalize({"cells": [{"kind": "simple", "units": 3, "dropout": 0.5}], "training": True})
    traced = {}

    def through_function(layer, x, kwargs):
        if "fn" not in traced:
            traced["fn"] = tf.function(lambda x: layer(x, **kwargs), autograph=False)
        return traced["fn"](x)
    assert dropout.shared_mask_violations(oracle, case) == []
    assert dropout.shared_mask_violations(oracle, case, call=through_function)
    for layer, kind in (("GRU", "gru"), ("LSTM", "lstm")):
        fused = normalize({"layer": layer, "cells": [{"kind": kind, "units": 3, "dropout": 0.5}], "training": True})
        assert dropout.shared_mask_violations(oracle, fused), layer


def test_tiled_oracle_samples_are_distinct_copies(oracle):
    """The oracle's samples come from one call with the batch repeated: its masks are drawn per row,
    so with 32 mask bits a row no two of 200 copies are alike (a mask shared by the rows would make
    them all equal)."""
    case = normalize({"cells": [{"kind": "simple", "units": 8, "dropout": 0.5, "recurrent_dropout": 0.5}],
                      "features": [8], "batch": 1, "training": True})
    output = dropout.sample(oracle, case, 200, per_call=200)["steps"][0]["result"]
    assert len({sample.tobytes() for sample in output}) == 200


# ---- sampling.run_samples --------------------------------------------------------------------------
@pytest.mark.parametrize("per_call", [1, 3])
@pytest.mark.parametrize("flags", [{"return_sequences": True, "return_state": True, "time_major": True},
                                   {"stateful": True, "return_state": True}])
def test_run_samples_stacks_what_run_returns(per_call, flags):
    """Without training every sample is the case's plain outcome: results stacked on a first axis,
    batch copies split back along the right axis (time-major sequences), a stateful layer reset
    between samples, reset steps kept as None."""
    reference = namespaces.resolve("reference")
    case = normalize({"cells": [{"kind": "lstm", "units": 3, "dropout": 0.5, "recurrent_dropout": 0.5}],
                      "flags": flags, "training": False, "mask": [[1, 1, 0, 1], [1, 0, 0, 0]],
                      "initial_state": not flags.get("stateful"),
                      "steps": [{"op": "call"}, {"op": "reset" if flags.get("stateful") else "call"}, {"op": "call"}]})
    plain = execute.run(reference, case)
    samples = sampling.run_samples(reference, case, 7, per_call=per_call)
    assert samples["samples"] == 7 and samples["error"] is None
    for got, want in zip(samples["steps"], plain["steps"]):
        assert got["op"] == want["op"]
        if want["result"] is None:
            assert got["result"] is None
            continue
        for g, w in zip(got["result"], want["result"]):
            assert g.shape == (7,) + w.shape
            np.testing.assert_array_equal(g, np.broadcast_to(w, g.shape))


def test_run_samples_returns_the_first_error_untiled(oracle):
    """The first error ends the samples and is their outcome; a tiled run that fails is run again
    untiled, so the error names the case's own shapes (the oracle states the batch it expected)."""
    case = normalize({"cells": [{"kind": "simple", "units": 3, "dropout": 0.5}], "training": True,
                      "flags": {"stateful": True}, "steps": [{"op": "call"}, {"op": "call", "batch": 3}]})
    samples = sampling.run_samples(oracle, case, 5, per_call=5)
    assert samples["steps"][0]["result"].shape == (1, 2, 3)
    error = samples["steps"][1]["error"]
    assert error["type"] == "ValueError"
    assert "(2, None, 3)" in error["message"] and "(10, None, 3)" not in error["message"]


def test_run_samples_reruns_untiled_a_result_it_cannot_split_into_copies():
    """An implementation whose last output has the wrong shape (one row, rank 1) cannot have its tiled
    result split back into copies: the samples run untiled and carry that shape for the judge, which
    fails the case on its shape (run by a worker, a split's ValueError would end the worker)."""
    target, oracle = namespaces.resolve("fuzz_targets.last_output_one_row"), namespaces.resolve("reference")
    case = normalize({"cells": [{"kind": "simple", "units": 3, "dropout": 0.5}], "training": True, "batch": 2})
    samples = sampling.run_samples(target, case, 6, per_call=3)
    assert samples["error"] is None and samples["samples"] == 6
    assert samples["steps"][0]["result"].shape == (6, 3)  # six samples of (units,): the target's own shape
    expected, actual = dropout.sample_pair(target, oracle, case, seed=0)
    verdict = judge.judge(case, expected, actual)
    assert verdict["status"] == "fail" and verdict["kind"] == "shape", verdict["detail"]


# ---- the power table ------------------------------------------------------------------------------
SEQ, STATE = {"return_sequences": True}, {"return_state": True}
POWER_CASES = {  # name: cells as (kind, units, dropout, recurrent_dropout, options), other case keys
    "simple seq+state d.25 r.25": dict(cells=[("simple", 3, .25, .25, {})], flags=dict(SEQ, **STATE)),
    "gru state d.5 r.5": dict(cells=[("gru", 3, .5, .5, {})], flags=STATE),
    "gru(reset_before) seq d.25": dict(cells=[("gru", 3, .25, 0, {"reset_after": False})], flags=SEQ),
    "lstm seq r.5 (units 2)": dict(cells=[("lstm", 2, 0, .5, {})], flags=SEQ),
    "stack lstm d.25 + simple r.5, backwards seq": dict(cells=[("lstm", 3, .25, 0, {}), ("simple", 2, 0, .5, {})],
                                                       flags=dict(SEQ, go_backwards=True)),
    "lstm stateful x2 mask d.5 r.25": dict(cells=[("lstm", 3, .5, .25, {})], flags=dict(STATE, stateful=True),
                                           mask=[[1, 1, 0, 1], [1, 1, 1, 0]], steps=[{"op": "call"}] * 2),
    "simple last output only, batch 1, d.5 r.5": dict(cells=[("simple", 3, .5, .5, {})], batch=1),
}
APPLIES = {  # bug: which cases can show it at all
    "dropout_no_scaling": lambda c: True,
    "dropout_recurrent_ignored": lambda c: any(x.get("recurrent_dropout") for x in c["cells"]),
    "dropout_ignored": lambda c: any(x.get("dropout") for x in c["cells"]),
    "dropout_mask_per_timestep": lambda c: True,
    "dropout_shared_across_batch": lambda c: c["batch"] > 1,
    "dropout_mask_kept_across_calls": lambda c: True,
    "dropout_rate_as_keep": lambda c: any(x.get(r, 0) not in (0, .5) for x in c["cells"]
                                          for r in ("dropout", "recurrent_dropout")),
}


def power_case(name):
    spec = dict(POWER_CASES[name])
    spec["cells"] = [dict(kind=k, units=u, dropout=d, recurrent_dropout=r, **extra)
                     for k, u, d, r, extra in spec["cells"]]
    return normalize(dict(spec, training=True))


def detection_rate(oracle, bug, case, n, reps):
    """The share of `reps` seeded checks at n samples a side that flag `bug` on `case`. The bug's side is
    sampled as sample_pair samples an implementation where tiling could change what it shows (masks
    shared by the rows, or kept across calls); elsewhere in one tiled call, which draws the same."""
    impl = namespaces.resolve(f"fuzz_targets.{bug}")
    across = bug in ("dropout_shared_across_batch", "dropout_mask_kept_across_calls")
    per_call = dropout.IMPL_PER_CALL if across else n
    hits = 0
    for rep in range(reps):
        expected = dropout.sample(oracle, seeded(case, 1000 + 10 * rep), n, per_call=n, seed=rep)
        actual = dropout.sample(impl, seeded(case, 5000 + 10 * rep), n, per_call=per_call)
        hits += bool(dropout.compare_samples(expected, actual, case))
    return hits / reps


def main():
    parser = argparse.ArgumentParser(description="power of dropout.compare_samples against the planted bugs")
    parser.add_argument("--oracle", default="reference")
    parser.add_argument("--n", default="100,200,400,800")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--bugs", default=",".join(BUGS))
    args = parser.parse_args()
    oracle = namespaces.resolve(args.oracle)
    sizes = [int(v) for v in args.n.split(",")]
    for bug in args.bugs.split(","):
        for name in POWER_CASES:
            case = power_case(name)
            if not APPLIES[bug](case):
                continue
            start = time.perf_counter()
            rates = "  ".join(f"n={n}:{detection_rate(oracle, bug, case, n, args.reps):.2f}" for n in sizes)
            print(f"{bug:28s} {name:45s} {rates}  ({time.perf_counter() - start:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
