"""Whose difference is it: tf2onnx's, or one ONNX runtime's.

Targets `onnx`, `onnx-reference` and `onnx-tract` run one converted model (tf2onnx's) on three
runtimes: onnxruntime, onnx's reference evaluator and tract. A discrepancy found on any of them is
replayed on all three with its own reproducer (`d-XXXX.py --impl MODULE`, from an empty directory, in
the targets' shared environment): the reproducer judges as the campaign did and exits 1 while a
difference persists, 0 once the runtime agrees with the oracle. A difference that every runtime shows
is in the converted model, so the converter's; one that a single runtime shows is that runtime's.
A runtime that refuses the model (NotImplementedError: tract has no ONNX Loop) has no say: the
vote is among the runtimes that run it. Anything else (two of three, a replay that times out or
cannot decide) is said as it is, never attributed.

Each replayed item gets `runtimes` (runtime -> {"shows": true | false | "unsupported" | null, "line": the
reproducer's first line of difference or its last words}) and `attribution` (one sentence) in
results.json; the report prints the sentence under the discrepancy.
"""
import os
import subprocess
import tempfile

from rnnconf.adapters import targets

# target -> (the runtime's name, the module the reproducer runs with --impl)
RUNTIMES = {
    "onnx": ("onnxruntime", "rnnconf.adapters.converters.onnx"),
    "onnx-reference": ("onnx-reference", "rnnconf.adapters.converters.onnx_reference"),
    "onnx-tract": ("tract", "rnnconf.adapters.converters.onnx_tract"),
}
CONVERTER = "tf2onnx"
REPLAY_TIMEOUT_S = 300  # the reference evaluator runs the time loop in Python
MAX_REPLAYED = 8  # items replayed per check (three reproducer runs each); the rest say they were not
UNSUPPORTED = "unsupported"  # a replay whose runtime refused the model (NotImplementedError), as `shows`
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def attribution(shown, lines=None):
    """One sentence for {runtime: True (shows the difference) | False (agrees with the oracle) |
    UNSUPPORTED (refuses the model: no say) | None (undecided)} over all of RUNTIMES' runtimes.
    `lines` (runtime -> its first line of difference): runtimes that show a difference of different
    sorts (one raises, another computes other values) do not show one difference."""
    refusing = [r for r, s in shown.items() if s == UNSUPPORTED]
    running = {r: s for r, s in shown.items() if s != UNSUPPORTED}
    showing = [r for r, s in running.items() if s is True]
    undecided = [r for r, s in running.items() if s is None]
    refused = f"; {', '.join(refusing)} refuses the model" if refusing else ""
    if undecided:
        return (f"undecided: the replay on {', '.join(undecided)} decided nothing"
                + (f"; shown by {', '.join(showing)}" if showing else "") + refused)
    sorts = {r: "raises" if "the implementation raises" in (lines or {}).get(r, "") else "computes other results"
             for r in showing}
    if len(set(sorts.values())) > 1:
        return ("not attributed: the runtimes differ differently ("
                + ", ".join(f"{r} {sort}" for r, sort in sorts.items()) + ")" + refused)
    if len(running) < 2:
        return f"not attributed: fewer than two runtimes run the model{refused}"
    if len(showing) == len(running):
        every = (f"all {len(shown)} runtimes show it" if not refusing else
                 f"every runtime that runs the model ({len(running)}) shows it")
        return f"the converter's ({CONVERTER}): {every}{refused}"
    if len(showing) == 1:
        return f"the runtime's ({showing[0]}): only {showing[0]} shows it{refused}"
    if not showing:
        return f"not reproduced: no runtime shows it on replay{refused}"
    agree = [r for r, s in running.items() if s is False]
    return f"not attributed: {', '.join(showing)} show it, {', '.join(agree)} agree with the oracle{refused}"


def replay(script, module, python, timeout=REPLAY_TIMEOUT_S):
    """(True | False | None, a line) for reproducer `script` run with `--impl module` by `python`
    from an empty directory, rnnconf's source on its path (the module is rnnconf's adapter)."""
    env = dict(os.environ, PYTHONPATH=SOURCE_ROOT)
    with tempfile.TemporaryDirectory(prefix="rnnconf-replay-") as empty:
        try:
            done = subprocess.run([python, os.path.abspath(script), "--impl", module], cwd=empty, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s"
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    # What differs: the unindented lines of stdout (each side's results are indented under "== side").
    differing = [line for line in done.stdout.splitlines()
                 if line.strip() and not line.startswith((" ", "==")) and line != "discrepancy persists"]
    if done.returncode == 1 and "discrepancy persists" in lines:
        if differing and all("the implementation raises NotImplementedError" in line for line in differing):
            return UNSUPPORTED, differing[0][:300]  # unsupported, as the campaign counts it: no difference
        return True, (differing[0] if differing else "")[:300]
    if done.returncode == 0:
        return False, "agrees with the oracle"
    said = [line.strip() for line in done.stdout.splitlines() if line.strip()] or lines  # stderr: TensorFlow's logs
    return None, f"exit {done.returncode}: {(said[-1] if said else '')[:300]}"


def attribute(out, data, impl, replay_one=None, log=None):
    """Replay each item of results `data` (the fuzzer's discrepancies, the suite's root causes) that
    has a reproducer under `out` on every runtime, and set its `runtimes` and `attribution`. Does
    nothing unless `impl` is one of RUNTIMES' targets. `replay_one(script, target)` -> (shows, line)
    replaces running the reproducer (tests)."""
    if impl not in RUNTIMES:
        return
    if replay_one is None:
        def replay_one(script, target):
            return replay(script, RUNTIMES[target][1], targets.python_of(target))
    items = list(data.get("discrepancies") or []) + [c for c in data.get("root_causes") or []
                                                      if c.get("source") == "suite"]
    replayed = 0
    for item in items:
        script = os.path.join(out, item["repro"]) if item.get("repro") else None
        if script is None or not os.path.exists(script):
            continue
        if replayed == MAX_REPLAYED:
            item["attribution"] = f"not replayed: only the first {MAX_REPLAYED} are"
            continue
        replayed += 1
        runtimes = {}
        for target, (runtime, _) in RUNTIMES.items():
            shows, line = replay_one(script, target)
            runtimes[runtime] = {"shows": shows, "line": line}
        item["runtimes"] = runtimes
        item["attribution"] = attribution({r: v["shows"] for r, v in runtimes.items()},
                                          {r: v["line"] for r, v in runtimes.items()})
        if log is not None:
            print(f"rnnconf: {item.get('id', item['repro'])}: {item['attribution']}", file=log, flush=True)

