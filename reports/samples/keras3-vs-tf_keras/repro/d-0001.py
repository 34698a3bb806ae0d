#!/usr/bin/env python
"""d-0001: value discrepancy between keras3 and tf_keras.

Case: RNN over hd_state custom cell(units=2); input batch=2 timesteps=3 features=[2, 3] float64; initial_state=True.
Found by `rnnconf check`; detail: step 0 output: max abs diff 5.35e-09 (max rel 3.94e-08) at (0, 0, 0): expected -0.3179956357527543, got -0.3179956387444404

Run: python d-0001.py [--impl NAME] [--oracle NAME]
Exit status: 1 while the discrepancy persists, 0 when both sides agree.
"""
import argparse
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, '/work/main')  # where rnnconf's conformance package lives, if not installed

import numpy as np

from conformance import compare, execute, namespaces
from conformance.cases import is_stochastic, normalize

CASE = {'cells': [{'kind': 'custom', 'variant': 'hd_state', 'units': 2}],
 'seed': 0,
 'cell_list': True,
 'features': [2, 3],
 'batch': 2,
 'timesteps': 3,
 'dtype': 'float64',
 'flags': {},
 'initial_state': True}


def show(name, outcome):
    print(f"== {name}")
    if outcome["error"]:
        print("  construction error:", outcome["error"]["type"], outcome["error"]["message"][:500])
    for i, step in enumerate(outcome["steps"]):
        if "error" in step:
            print(f"  step {i} ({step['op']}) error:", step["error"]["type"], step["error"]["message"][:500])
        else:
            print(f"  step {i} ({step['op']}):")
            print("   ", np.array2string(np.asarray(step["result"], dtype=object) if isinstance(step["result"], list)
                                        else step["result"], precision=6).replace("\n", "\n    "))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", default='keras3')
    parser.add_argument("--oracle", default='tf_keras')
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    signal.alarm(args.timeout)  # a hang of either side ends the script (SIGALRM, non-zero)
    oracle, impl = namespaces.resolve(args.oracle), namespaces.resolve(args.impl)
    case = normalize(CASE)
    expected = execute.run(oracle, case)
    show(f"oracle ({args.oracle})", expected)
    actual = execute.run(impl, case)
    show(f"implementation ({args.impl})", actual)
    recheck = (lambda: execute.run(oracle, dict(case, dtype="float64"))) if case["dtype"] == "float32" else None
    mismatches = compare.compare(expected, actual, case, recheck_f64=recheck, structural_only=is_stochastic(case))
    for m in mismatches:
        print(f"MISMATCH {m.kind} at step {m.step} {m.path}: {m.detail}")
    print("discrepancy persists" if mismatches else "no discrepancy: both sides agree")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
