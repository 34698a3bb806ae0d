"""False alarms of the dropout check: the oracle judged against itself on drawn dropout cases.

    python bench/dropout_self.py [--seconds 900] [--seed 1] [--impl tf_keras] [--json FILE]

Draws valid cases from the fuzzer's strategy with dropout while training (fuzz/strategies.py,
kept only where rnnconf.engine.cases.is_stochastic holds), samples both sides as the suite and the
reproducers do (dropout.sample_pair, each case with its own seed) and judges them with
dropout.compare_samples. A correct implementation against the oracle (by default the oracle against
itself) should be flagged at most ALPHA = 1e-6 of the time per check; the run prints the checks,
the flags, the smallest p-value seen, and the seconds per check on each side.
"""
import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnconf.engine import dropout  # noqa: E402
from rnnconf.adapters import namespaces  # noqa: E402
from rnnconf.engine.cases import is_stochastic, normalize  # noqa: E402


def stochastic_cases(seed):
    from rnnconf.fuzz import strategies
    return strategies.draw_examples(strategies.valid_cases(), 3000, seed, keep=lambda c: is_stochastic(normalize(c)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=900)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--impl", default="tf_keras")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    oracle, impl = namespaces.resolve("tf_keras"), namespaces.resolve(args.impl)
    cases = stochastic_cases(args.seed)
    end = time.time() + args.seconds
    checks, flags, errors, smallest, spent = 0, [], 0, 1.0, {"oracle": 0.0, "impl": 0.0}
    for i, case in enumerate(cases):
        if time.time() >= end:
            break
        case = dict(normalize(case), seed=i)
        t0 = time.time()
        expected = dropout.sample(oracle, case, dropout.SAMPLES, per_call=dropout.SAMPLES, seed=i)
        t1 = time.time()
        actual = dropout.sample(impl, case, dropout.SAMPLES, per_call=dropout.IMPL_PER_CALL, seed=i + 10 ** 6)
        spent["oracle"] += t1 - t0
        spent["impl"] += time.time() - t1
        if expected.get("error") or actual.get("error"):
            errors += 1
        mismatches = dropout.compare_samples(expected, actual, case)
        checks += 1
        smallest = min([smallest] + [m.stats["p_value"] for m in mismatches if "p_value" in m.stats])
        if mismatches:
            flags.append({"case": case, "detail": mismatches[0].detail})
            print(f"FLAG {mismatches[0].detail}", flush=True)
    summary = {"checks": checks, "flags": len(flags), "cases_with_an_error": errors,
               "smallest_flagged_p": smallest if flags else None,
               "seconds_per_check": {k: round(v / max(checks, 1), 3) for k, v in spent.items()}}
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "flags": flags}, indent=1, default=str))
    return 0 if not flags else 1


if __name__ == "__main__":
    sys.exit(main())
