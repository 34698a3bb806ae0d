"""How close correct gradients come to their bound: drawn gradient cases run on the reference and on
tf_keras, each gradient compared with compare.py's rounding bound at GRADIENT_STEPS_FACTOR = 1 (the
forward pass's steps), so the ratios say what factor the backward pass needs.

    python bench/gradient_tolerance.py --cases 120 --seed 1

Prints, per dtype, the distribution of the largest difference over the factor-1 bound per case (and
the quantity that set it), then how the judge itself (factor GRADIENT_STEPS_FACTOR, float64 recheck)
rules on the same cases: pass, inconclusive or fail.
"""
import argparse
import os
import sys
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rnnconf.engine import compare, execute, judge  # noqa: E402
from rnnconf.adapters import namespaces  # noqa: E402
from rnnconf.engine.cases import normalize  # noqa: E402
from rnnconf.engine.gradients import named_leaves  # noqa: E402
from rnnconf.fuzz import strategies  # noqa: E402


def ratios(expected, actual, case):
    """(largest difference over the factor-1 bound, its quantity) over every call's gradients."""
    worst, where = 0.0, None
    for index, (e, a) in enumerate(zip(expected["steps"], actual["steps"])):
        if "gradients" not in e or "gradients" not in a:
            continue
        steps = compare.recurrent_steps(case, index)
        for (path, x), (_, y) in zip(named_leaves(e["gradients"]), named_leaves(a["gradients"])):
            if x is None or y is None or np.shape(x) != np.shape(y) or not np.size(x):
                continue
            x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
            bound = compare.tolerance(np.asarray(x).dtype, steps, x64)
            r = float(np.abs(x64 - y64).max() / bound)
            if r > worst:
                worst, where = r, path.split("[")[0]
    return worst, where


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ["RNNCONF_GRADIENT_EVERY"] = "1"
    ref, oracle = namespaces.resolve("reference"), namespaces.resolve("tf_keras")
    drawn = strategies.draw_examples(strategies.valid_cases(), args.cases * 3, seed=args.seed,
                                     keep=lambda c: c.get("gradients") and all(k["kind"] != "custom" for k in c["cells"]))
    drawn = drawn[:args.cases]
    by_dtype, where_by_dtype, verdicts = defaultdict(list), defaultdict(Counter), Counter()
    for case in drawn:
        case = normalize(case)
        expected, actual = execute.run(oracle, case), execute.run(ref, case)
        if judge.first_error(expected) or judge.first_error(actual):
            verdicts["error (both sides judged as forward cases)"] += 1
            continue
        worst, where = ratios(expected, actual, case)
        by_dtype[case["dtype"]].append(worst)
        where_by_dtype[case["dtype"]][where] += 1
        j = judge.judge(case, expected, actual, run_oracle=lambda c: execute.run(oracle, c), impl_has=ref.has)
        verdicts[j["status"]] += 1
    for dtype, values in sorted(by_dtype.items()):
        v = np.array(values)
        print(f"{dtype}: {len(v)} cases; largest gradient difference / factor-1 bound: median {np.median(v):.3g}, "
              f"90% {np.quantile(v, 0.9):.3g}, 99% {np.quantile(v, 0.99):.3g}, max {v.max():.3g}; "
              f"over 1: {int((v > 1).sum())}, over {compare.GRADIENT_STEPS_FACTOR}: "
              f"{int((v > compare.GRADIENT_STEPS_FACTOR).sum())}; set by {dict(where_by_dtype[dtype])}")
    print(f"the judge (factor {compare.GRADIENT_STEPS_FACTOR}, float64 recheck): {dict(verdicts)}")


if __name__ == "__main__":
    main()
