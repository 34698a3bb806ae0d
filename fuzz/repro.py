"""Standalone reproducer scripts for discrepancies (DIR/repro/d-XXXX.py).

A reproducer embeds the shrunk case as JSON and runs it through conformance's own case building
(cases.py, execute.py) and the one judge (judge.run_and_judge), in-process, on the oracle and on
the implementation; it prints both results and the mismatches, and exits 1 while they differ (0 once
fixed; a crash or hang of the implementation also ends it non-zero: abort, or the alarm).

Why not generate explicit Keras code instead: the case is executed by code that also builds the
custom cells, sets the seed's weights after a first build call, transposes masks for time_major and
drives stateful step sequences. Re-emitting all of that as literal code would be a second
implementation of execute.py that could disagree with what the fuzzer ran. The embedded case is
short and the script reproduces exactly what was checked; its docstring summarises the case in
words for the reader.
"""
import json
import os
import pprint

import conformance

TEMPLATE = '''#!/usr/bin/env python
"""{id}: {kind} discrepancy between {impl} and {oracle}.

{summary}
Found by `rnnconf check`; detail: {detail}

Run: python {filename} [--impl NAME] [--oracle NAME]
Exit status: 1 while the discrepancy persists, 0 when both sides agree.
"""
import argparse
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, {repo_root!r})  # where rnnconf's conformance package lives, if not installed

import numpy as np

from conformance import judge, namespaces

CASE = {case}


def show(name, outcome):
    print(f"== {{name}}")
    if outcome["error"]:
        print("  construction error:", outcome["error"]["type"], outcome["error"]["message"][:500])
    for i, step in enumerate(outcome["steps"]):
        if "error" in step:
            print(f"  step {{i}} ({{step['op']}}) error:", step["error"]["type"], step["error"]["message"][:500])
        else:
            print(f"  step {{i}} ({{step['op']}}):")
            print("   ", np.array2string(np.asarray(step["result"], dtype=object) if isinstance(step["result"], list)
                                        else step["result"], precision=6).replace("\\n", "\\n    "))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", default={impl!r})
    parser.add_argument("--oracle", default={oracle!r})
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    signal.alarm(args.timeout)  # a hang of either side ends the script (SIGALRM, non-zero)
    oracle, impl = namespaces.resolve(args.oracle), namespaces.resolve(args.impl)
    expected, actual, verdict = judge.run_and_judge(impl, oracle, CASE)
    show(f"oracle ({{args.oracle}})", expected)
    show(f"implementation ({{args.impl}})", actual)
    for m in verdict["mismatches"]:
        print(f"MISMATCH {{m.kind}} at step {{m.step}} {{m.path}}: {{m.detail}}")
    if verdict["status"] == "fail":
        print("discrepancy persists")
        return 1
    print("no discrepancy: both sides agree" if verdict["status"] == "pass"
          else f"{{verdict['status']}}: {{verdict['detail']}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def summarize(case):
    """The case in words: what a reader checks first."""
    from conformance.cases import normalize
    c = normalize(case)
    cells = ", ".join(
        f"{cell['kind'] if cell['kind'] != 'custom' else cell['variant'] + ' custom'} cell(units={cell['units']}"
        + "".join(f", {k}={v!r}" for k, v in cell.items() if k not in ("kind", "units", "variant")) + ")"
        for cell in c["cells"])
    parts = [f"{c['layer']} over {cells}" if c["layer"] == "RNN" else f"{c['layer']} ({cells})"]
    if c["flags"]:
        parts.append("flags " + ", ".join(f"{k}={v!r}" for k, v in c["flags"].items()))
    parts.append(f"input batch={c['batch']} timesteps={c['timesteps']} features={c['features']} {c['dtype']}")
    for key in ("mask", "initial_state", "constants", "training", "embedding"):
        if c[key] not in (None, False):
            parts.append(f"{key}={c[key]!r}")
    if c["steps"] != [{"op": "call"}]:
        parts.append(f"steps {c['steps']}")
    return "Case: " + "; ".join(parts) + "."


def write(out_dir, item, impl, oracle):
    """Write DIR/<item['repro']> for a results.json discrepancy item; returns its path."""
    path = os.path.join(out_dir, item["repro"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(conformance.__file__)))
    text = TEMPLATE.format(
        id=item["id"], kind=item["kind"], impl=impl, oracle=oracle, summary=summarize(item["config"]),
        detail=item["detail"][:300].replace('"""', "'''").replace("\\", "\\\\"), filename=os.path.basename(path),
        repo_root=repo_root, case=pprint.pformat(json.loads(json.dumps(item["config"])), width=100, sort_dicts=False))
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path
