"""The `rnnconf` command line (interfaces.md section 2): `check` chains the three stages.

  rnnconf check --impl NAME [--oracle NAME] [--budget SECONDS] [--max-examples N] [--seed N]
                [--workers N] [--fail-fast] [--xfail FILE] [--known FILE] [--out DIR] [--shard K/N] [--skip-suite]
                [--baseline OLD/results.json]
  rnnconf targets
  rnnconf report RESULTS.json [RESULTS.json ...] --out DIR
  rnnconf report --diff OLD/results.json NEW/results.json --out DIR
  rnnconf scoreboard --impl A --impl B ... [--budget S] [--seed N] --out DIR [--previous OLD/scoreboard.json]
  rnnconf scoreboard --from-results R1.json R2.json ... --out DIR [--previous OLD/scoreboard.json]

check: (a) the conformance suite (pytest, in a subprocess, its per-clause counts merged in),
(b) the fuzzing campaign (fuzz/campaign.py), (c) results.json, repro/, junit.xml, report.html:
rnnconf/check.py (its stages), rnnconf/suite.py (the suite's subprocess). This module: the parser,
the dispatch and the scoreboard.
Exit status: 0 nothing beyond --xfail and the known differences (--known) differs, 1 a discrepancy,
2 a usage or set-up error.
With --baseline, 1 only for what the baseline did not already fail (reports/diff.py).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

from rnnconf.adapters import targets
from rnnconf.check import DEFAULT_BUDGET_S, FULL_SUITE_BUDGET_S, check, renderer
from rnnconf.fuzz.budgets import SHRINK_BUDGET_MIN_S, SHRINK_BUDGET_S, SHRINK_SHARE, VARIANTS
from rnnconf.reports.render import _slug
from rnnconf.status import FOUND, INTERNAL, OK, USAGE, Incomplete, UsageError, say
from rnnconf.suite import stop_process


def _parser():
    parser = argparse.ArgumentParser(prog="rnnconf", description="Conformance suite and differential fuzzer "
                                     "for tf.keras.layers.RNN (Keras 2).")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run the suite and a fuzzing campaign of NAME against the oracle")
    check.add_argument("--impl", required=True, help="reference, tf_keras, keras3, a module path or module:attr, "
                       "or a target (`rnnconf targets`: its own environment, created on first use)")
    check.add_argument("--impl-python", metavar="PATH", help="run --impl with this interpreter (your own "
                       "environment) in the workers; the oracle stays in rnnconf's")
    check.add_argument("--oracle", default="tf_keras")
    check.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                       help=f"wall time for the whole check (default {DEFAULT_BUDGET_S:g}s without --max-examples)")
    check.add_argument("--max-examples", type=int, default=None, metavar="N", help="fuzzed examples in all")
    check.add_argument("--seed", type=int, default=None, help="same seed, same examples (default: random, "
                       "or the seed of the campaign being resumed)")
    check.add_argument("--workers", type=int, default=None, metavar="N", help="parallel drivers (default: all cores)")
    check.add_argument("--fail-fast", action="store_true", help="stop at the first discrepancy (after shrinking)")
    check.add_argument("--xfail", metavar="FILE", help="known issues: clause IDs, discrepancy kinds, `signature:` "
                       "or `fingerprint:` lines, each with an optional issue URL and note (docs/results.md)")
    check.add_argument("--known", metavar="FILE", help="known differences of the implementation from Keras 2 "
                       "(docs/known-differences.md): a failing check an entry accounts for is `differs-by-design`, "
                       "shown with its link, and does not make check exit 1. Default: the target's own file "
                       "(engine/known-differences/NAME.txt: keras3, keras3-jax, keras3-numpy, keras3-torch, "
                       "keras-nightly); `--known none` uses none")
    check.add_argument("--out", metavar="DIR", help="default reports/<impl>-<timestamp>/; an existing DIR resumes")
    check.add_argument("--shard", default="1/1", metavar="K/N", help="run shard K of N (merge with `rnnconf report`)")
    check.add_argument("--skip-suite", action="store_true", help="fuzz only: skip the conformance suite stage")
    check.add_argument("--suite", choices=("auto", "full", "quick"), default="auto",
                       help="quick: the first example of every test function (every clause); full: all of "
                            f"them; auto: quick under --budget {FULL_SUITE_BUDGET_S:g}, else full")
    check.add_argument("--example-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="one example on one side longer than this is a `timeout` discrepancy")
    check.add_argument("--worker-memory", type=int, default=4096, metavar="MIB",
                       help="a worker whose resident memory passes this is killed: a `crash` discrepancy")
    check.add_argument("--shrink-budget", type=float, default=None, metavar="SECONDS",
                       help=f"time spent shrinking one discrepancy at most (default: {SHRINK_SHARE * 100:g}%% of the "
                            f"fuzzing stage's time, {SHRINK_BUDGET_MIN_S:g} to {SHRINK_BUDGET_S:g} s)")
    check.add_argument("--variants", type=int, default=VARIANTS, metavar="K",
                       help=f"data variants (seed, weight scale, mask values) run per drawn configuration "
                            f"on the same built layers (default {VARIANTS})")
    check.add_argument("--no-progress", action="store_true", help="no progress bar (a summary line at the end)")
    check.add_argument("--oracle-coverage", action="store_true", help="measure which lines, branches and "
                       "`raise` statements of the oracle's RNN code the check reaches (coverage.py; slower: "
                       "docs/oracle-coverage.md)")
    check.add_argument("--baseline", metavar="RESULTS.json", help="an earlier run's results.json: report what "
                       "changed (DIR/diff.json) and exit 1 only on new failures")
    sub.add_parser("targets", help="the targets (implementations in their own environments): pins, whether "
                   "installed, installed versions")
    report = sub.add_parser("report", help="re-render results.json files, merging shards")
    report.add_argument("results", nargs="*", metavar="RESULTS.json")
    report.add_argument("--diff", nargs=2, metavar=("OLD", "NEW"), help="what changed from OLD to NEW: "
                        "NEW's report with a diff section, DIR/diff.json; exit 1 only on new failures")
    report.add_argument("--out", required=True, metavar="DIR")
    board = sub.add_parser("scoreboard", help="check several implementations or targets in turn (or take "
                           "their results.json) and write DIR/index.html, a clause-by-implementation scoreboard")
    board.add_argument("--impl", action="append", default=[], metavar="NAME",
                       help="an implementation or target to check (repeat it); each runs as its own "
                            "`rnnconf check --out DIR/NAME`")
    board.add_argument("--budget", type=float, default=None, metavar="SECONDS", help="each check's --budget")
    board.add_argument("--seed", type=int, default=None, help="each check's --seed")
    board.add_argument("--out", required=True, metavar="DIR")
    board.add_argument("--previous", metavar="OLD/scoreboard.json", help="an earlier scoreboard: show what "
                       "changed per implementation since then")
    board.add_argument("--from-results", nargs="+", metavar="RESULTS.json", help="take finished runs instead "
                       "of checking (CI shards of one implementation are merged)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        # `kill` (SIGTERM) unwinds like Ctrl-C: the drivers are stopped, the logs stay resumable.
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(args)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(args):
    try:
        if args.command == "report":
            return _report_command(args)
        if args.command == "scoreboard":
            return scoreboard(args)
        if args.command == "targets":
            print("\n".join(targets.listing()))
            return OK
        return check(args)
    except (UsageError, Incomplete) as e:
        print(f"rnnconf: {'incomplete: ' if isinstance(e, Incomplete) else ''}{e}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("rnnconf: interrupted; re-run with the same --out to resume", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a bug of rnnconf's own: its traceback, and a status of its own
        traceback.print_exc()
        print(f"rnnconf: internal error (exit {INTERNAL}); the traceback above is rnnconf's, not the "
              f"implementation's", file=sys.stderr)
        return INTERNAL


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _report_command(args):
    render = renderer()
    if render is None or not hasattr(render, "report_command"):
        raise UsageError("the report renderer (reports.render) is not available")
    if args.diff:
        if args.results:
            raise UsageError("report --diff OLD NEW takes no other results.json")
        return render.diff_command(*args.diff, args.out)
    if not args.results:
        raise UsageError("report needs RESULTS.json files, or --diff OLD NEW")
    return render.report_command(args.results, args.out)


# ---- the scoreboard ----------------------------------------------------------------------------------------
def scoreboard(args):
    """`rnnconf scoreboard`: each --impl checked in turn by its own `rnnconf check` process (its
    environment, exit status and crash stay its own), or --from-results; then DIR/index.html and
    DIR/scoreboard.json (reports.render.render_scoreboard). The scoreboard reports, it does not gate:
    0 when every check ran to completion, whatever it found; 2 when one could not run (its column
    says "did not run" and why; one line each on stderr)."""
    render = renderer()
    if render is None:
        raise UsageError("the report renderer (reports.render) is not available")
    if bool(args.impl) == bool(args.from_results):
        raise UsageError("scoreboard needs --impl NAME (repeated) or --from-results RESULTS.json ..., not both")
    previous = None
    if args.previous:  # read before anything is written: it may be DIR/scoreboard.json itself
        try:
            with open(args.previous) as f:
                previous = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise UsageError(f"cannot read --previous {args.previous}: {e}") from None
        if not isinstance(previous, dict) or not isinstance(previous.get("columns"), list):
            raise UsageError(f"cannot read --previous {args.previous}: not a scoreboard.json (no columns)")
    if args.budget is not None and args.budget <= 0:
        raise UsageError(f"--budget must be positive; got {args.budget}")
    if args.from_results:
        try:
            path = render.scoreboard_from_results(args.from_results, args.out, previous)
        except ValueError as e:
            raise UsageError(str(e)) from None
        say(f"scoreboard: {path}")
        return OK
    if len(set(args.impl)) != len(args.impl):
        raise UsageError("scoreboard: an --impl is given twice")
    results, links, errors = [], {}, {}
    for i, impl in enumerate(args.impl):
        data, error, link = _scoreboard_check(args, impl, i + 1)
        results.append(data)
        links[i] = link
        if error is not None:
            errors[i] = error
    path = render.render_scoreboard(results, args.out, list(args.impl), links, errors, previous)
    say(f"scoreboard: {path}")
    for i, error in errors.items():
        say(f"scoreboard: {args.impl[i]} did not run: {error}")
    return USAGE if errors else OK


def _scoreboard_check(args, impl, number):
    """Run `rnnconf check` of one implementation into DIR/<name>/, its output echoed with the name in
    front (and kept in DIR/<name>/check.log); (results dict or None, why it did not run or None, link)."""
    name = _slug(impl)
    out = os.path.join(args.out, name)
    # A scoreboard measures afresh: an earlier check's folder would otherwise be resumed.
    if os.path.isfile(os.path.join(out, "campaign.json")):
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    cmd = [sys.executable, "-m", "rnnconf.cli", "check", "--impl", impl, "--out", out, "--no-progress"]
    if args.budget is not None:
        cmd += ["--budget", f"{args.budget:g}"]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    say(f"scoreboard: [{number}/{len(args.impl)}] {impl}: {' '.join(cmd[3:])}")
    start, last = time.time(), None
    with open(os.path.join(out, "check.log"), "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        try:
            for line in proc.stdout:
                log.write(line)
                print(f"  {impl} | {line.rstrip()}", file=sys.stderr, flush=True)
                if line.startswith("rnnconf: ") and line.strip():
                    last = line.strip()[len("rnnconf: "):]
            proc.wait()
        finally:
            stop_process(proc, grace_s=30)  # interrupted: the check stops too (its logs stay resumable)
    seconds = time.time() - start
    link = f"{name}/report.html"
    words = {OK: "nothing beyond --xfail differs", FOUND: "discrepancies found"}.get(proc.returncode, "did not run")
    say(f"scoreboard: [{number}/{len(args.impl)}] {impl}: exit {proc.returncode} ({words}) in {seconds:.1f}s")
    if proc.returncode not in (OK, FOUND):
        return None, last or f"rnnconf check exited with status {proc.returncode}", None
    try:
        with open(os.path.join(out, "results.json")) as f:
            return json.load(f), None, link
    except (OSError, ValueError) as e:
        return None, f"no readable results.json: {e}", None


if __name__ == "__main__":
    sys.exit(main())
