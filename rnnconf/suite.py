"""The check's suite stage: the conformance suite run by pytest in a subprocess, its progress streamed."""
import json
import os
import subprocess
import sys
import time

from rnnconf import conformance
from rnnconf.adapters import targets
from rnnconf.engine.oracle_coverage import suite_arguments
from rnnconf.status import Incomplete, UsageError, say

SUITE_POLL_S = 0.5


# The suite runs from the folder that holds the rnnconf package (a checkout's root, or site-packages).
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


SUITE_DIR = os.path.relpath(os.path.dirname(os.path.abspath(conformance.__file__)), SOURCE_ROOT)


def run_suite(args, out, timeout_s, workers=1, on_progress=None, quick=False):
    """(a) The conformance suite in a subprocess, one example of every test first (--breadth-first),
    each finished test appended to DIR/conformance.stream.jsonl as it goes. Returns the clause report
    with "exit", "seconds" and "first_failure_t"; raises Incomplete where the suite did not finish
    within `timeout_s` or did not run (pytest's exit 2-5), UsageError where it could not start.
    With --fail-fast, pytest stops at the first failing test (-x), which is a complete answer.
    `quick` runs only the first example of every test function: every clause, in a short budget."""
    # Absolute: the suite runs in the folder that holds the conformance package, not the caller's.
    path = os.path.abspath(os.path.join(out, "conformance.json"))
    remote = targets.split_remote(args.impl)
    impl = ["--impl", remote[0], "--impl-python", remote[1]] if remote else ["--impl", args.impl]
    cmd = [sys.executable, "-m", "pytest", SUITE_DIR, "-q", "-p", "no:cacheprovider",
           *impl, "--oracle", args.oracle, "--clause-report", path]
    if args.xfail:
        cmd += ["--xfail", os.path.abspath(args.xfail)]
    if getattr(args, "known_path", None):
        cmd += ["--known", os.path.abspath(args.known_path)]
    root = SOURCE_ROOT
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OPENBLAS_NUM_THREADS="1")
    env.pop("CI", None)  # the suite's own Hypothesis profiles, not the auto-loaded `ci` one
    # The suite runs in the package's folder: the caller's own modules (--impl mypkg) stay importable.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH")) if p)
    stream = os.path.abspath(os.path.join(out, "conformance.stream.jsonl"))
    for stale in (path, stream):
        if os.path.exists(stale):
            os.remove(stale)
    cmd += ["--clause-stream", stream, "--breadth-first"]
    if quick:
        cmd += ["--first-of-each"]
    if workers > 1:
        cmd += ["-n", str(workers)]
    cmd += suite_arguments()
    if args.fail_fast:
        cmd += ["-x"]
    say(f"conformance suite: {' '.join(cmd[2:])}")
    start = time.time()
    log_path = os.path.join(out, "conformance.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                time.sleep(SUITE_POLL_S)
                if on_progress is not None:
                    on_progress(read_stream(stream))
                if time.time() - start > timeout_s:
                    done = read_stream(stream)
                    raise Incomplete(f"the conformance suite did not finish within {timeout_s:.0f}s ({len(done)} "
                                     "tests done): give --budget more time, or fuzz only with --skip-suite")
        finally:
            stop_process(proc, grace_s=10)
    seconds = time.time() - start
    last = _last_line(log_path)
    failures = [r for r in read_stream(stream) if r["outcome"] == "failed"]
    # With -x under pytest-xdist, stopping at the first failure is pytest's "interrupted" (exit 2).
    stopped_at_failure = args.fail_fast and proc.returncode == 2 and bool(failures)
    if proc.returncode == 2 and not os.path.exists(path) and not stopped_at_failure:
        raise UsageError(f"the conformance suite could not start: {last}")
    if proc.returncode == 5:
        raise Incomplete(f"the conformance suite collected no tests: {last}")
    if (proc.returncode not in (0, 1) and not stopped_at_failure) or not os.path.exists(path):
        raise Incomplete(f"the conformance suite did not complete (pytest exit {proc.returncode}): {last}; "
                         f"see {log_path}")
    with open(path) as f:
        report = json.load(f)
    report.update({"exit": proc.returncode, "seconds": round(seconds, 3), "mode": "quick" if quick else "full",
                   "tests": len(read_stream(stream)),
                   "first_failure_t": min((r["t"] for r in failures), default=None)})
    return report


def stop_process(proc, grace_s):
    """End a child process still running: terminate, and kill it after `grace_s` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_stream(path):
    """The suite's finished tests so far (a torn last line is left for later)."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")[:-1]
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _last_line(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
