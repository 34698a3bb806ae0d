"""How close correct results come to the value tolerance: the measured worst cases behind
engine/compare.py's bound, its float32 recheck and the recheck's ceiling.

    python bench/tolerance.py [--cases 400] [--seed 1] [--impl reference] [--json FILE]

Draws valid cases from the fuzzer's strategy (fuzz/strategies.py), runs each on the oracle
(tf_keras) and on the implementation (default: the reference, which is right), and reports per
dtype the largest ratio of a result's difference to its bound (`compare.tolerance`), how many
float32 results needed the float64 recheck, and for those the largest difference from float64 as a
fraction of the recheck's allowance and of RECHECK_CEILING. Run on a correct implementation, every
ratio at or below 1 and no inconclusive result is what the bounds promise.
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnconf.engine import compare, execute, judge  # noqa: E402
from rnnconf.adapters import namespaces  # noqa: E402
from rnnconf.engine.cases import is_stochastic, normalize  # noqa: E402


def draw_cases(n, seed):
    from rnnconf.fuzz import strategies
    return strategies.draw_examples(strategies.valid_cases(), n, seed)


def measure(cases, impl, oracle):
    rows = {"float32": [], "float64": []}
    rechecked, inconclusive, failed = [], 0, 0
    for case in cases:
        case = normalize(case)
        if is_stochastic(case):
            continue
        expected, actual = execute.run(oracle, case), execute.run(impl, case)
        if execute.has_error(expected) or execute.has_error(actual):
            continue
        for index, (exp, act) in enumerate(zip(expected["steps"], actual["steps"])):
            if "result" not in exp or exp["result"] is None or "result" not in act:
                continue
            for (path, e), (_, a) in zip(compare._leaves(exp["result"]), compare._leaves(act["result"])):
                if e.shape != a.shape or e.dtype != a.dtype or not np.issubdtype(e.dtype, np.floating) or not e.size:
                    continue
                e64, a64 = e.astype(np.float64), a.astype(np.float64)
                if not (np.isfinite(e64).all() and np.isfinite(a64).all()):
                    continue
                bound = compare.tolerance(e.dtype, compare.recurrent_steps(case, index), e64)
                rows[str(e.dtype)].append(float(np.abs(e64 - a64).max() / bound))
        j = judge.judge(case, expected, actual, run_oracle=lambda c: execute.run(oracle, c), impl_has=impl.has)
        inconclusive += j["status"] == "inconclusive"
        failed += j["status"] == "fail"
        if case["dtype"] == "float32" and any(r > 1 for r in rows["float32"][-8:]):
            rechecked.append(case)
    return rows, rechecked, inconclusive, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--impl", default="reference")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    oracle, impl = namespaces.resolve("tf_keras"), namespaces.resolve(args.impl)
    cases = draw_cases(args.cases, args.seed)
    rows, rechecked, inconclusive, failed = measure(cases, impl, oracle)
    summary = {"cases": len(cases), "judged_fail": failed, "inconclusive": inconclusive,
               "float32_results_over_bound": len(rechecked)}
    for dtype, ratios in rows.items():
        if ratios:
            r = np.array(ratios)
            summary[dtype] = {"results": len(r), "max_ratio_to_bound": float(r.max()),
                              "p99_ratio": float(np.quantile(r, 0.99)), "over_bound": int((r > 1).sum())}
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
