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
(b) the fuzzing campaign (fuzz/campaign.py), (c) results.json, repro/, junit.xml, report.html.
Exit status: 0 nothing beyond --xfail and the known differences (--known) differs, 1 a discrepancy,
2 a usage or set-up error.
With --baseline, 1 only for what the baseline did not already fail (reports/diff.py).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

USAGE, FOUND, OK = 2, 1, 0
INTERNAL = 3  # rnnconf itself failed: never to be read as "found" (1) by a CI script
KINDS = ("value", "shape", "dtype", "structure", "error", "crash", "timeout")
DEFAULT_BUDGET_S = 300.0
MIN_FUZZ_S = 10.0  # of a --budget, kept for the fuzzing stage when it runs after the suite
# Below this --budget the suite runs the first example of every test function (every clause is
# checked); from it on, every example. The whole suite takes 2-5 minutes on 2 cores.
FULL_SUITE_BUDGET_S = 300.0


class UsageError(Exception):
    """One line for stderr; exit status 2."""


def _parser():
    from fuzz.driver import SHRINK_BUDGET_MIN_S, SHRINK_BUDGET_S, SHRINK_SHARE, VARIANTS
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
                       "(rnnconf/known-differences/NAME.txt: keras3, keras3-jax, keras3-numpy, keras3-torch, "
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
            from rnnconf import targets
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
        import traceback
        traceback.print_exc()
        print(f"rnnconf: internal error (exit {INTERNAL}); the traceback above is rnnconf's, not the "
              f"implementation's", file=sys.stderr)
        return INTERNAL


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _render():
    """reports.render, or None while it is not there (results.json is still written)."""
    try:
        from reports import render
    except ImportError:
        return None
    return render


def _report_command(args):
    render = _render()
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
    render = _render()
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
        _say(f"scoreboard: {path}")
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
    _say(f"scoreboard: {path}")
    for i, error in errors.items():
        _say(f"scoreboard: {args.impl[i]} did not run: {error}")
    return USAGE if errors else OK


def _scoreboard_check(args, impl, number):
    """Run `rnnconf check` of one implementation into DIR/<name>/, its output echoed with the name in
    front (and kept in DIR/<name>/check.log); (results dict or None, why it did not run or None, link)."""
    import shutil
    from reports.render import _slug
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
    _say(f"scoreboard: [{number}/{len(args.impl)}] {impl}: {' '.join(cmd[3:])}")
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
            _stop(proc, grace_s=30)  # interrupted: the check stops too (its logs stay resumable)
    seconds = time.time() - start
    link = f"{name}/report.html"
    words = {OK: "nothing beyond --xfail differs", FOUND: "discrepancies found"}.get(proc.returncode, "did not run")
    _say(f"scoreboard: [{number}/{len(args.impl)}] {impl}: exit {proc.returncode} ({words}) in {seconds:.1f}s")
    if proc.returncode not in (OK, FOUND):
        return None, last or f"rnnconf check exited with status {proc.returncode}", None
    try:
        with open(os.path.join(out, "results.json")) as f:
            return json.load(f), None, link
    except (OSError, ValueError) as e:
        return None, f"no readable results.json: {e}", None


# ---- option checking -------------------------------------------------------------------------------------
def parse_shard(text):
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard expects K/N with integers, e.g. 1/4; got {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard K/N needs 1 <= K <= N; got {text!r}")
    return k, n


NO_LONGER_REPRODUCES = "no longer reproduces (fixed upstream?)"


def parse_known_issue(line):
    """One line of an --xfail (known-issues) file as a dict, or None for a blank or comment line.

    MATCH [URL] [NOTE] [# comment], where MATCH is a clause ID, a discrepancy kind,
    `signature: <signature>` or `fingerprint: <kind> | <core>`; the first http(s):// word is the URL.
    " -- " also starts the NOTE (a signature line without a URL needs it)."""
    import re
    text = _strip_comment(line).strip()
    if not text:
        return None
    text, _, note = text.partition(" -- ")
    url, m = None, re.search(r"(?:^|\s)(https?://\S+)", text)
    if m:
        url, rest = m.group(1), text[m.end():].strip()
        text, note = text[:m.start()].strip(), " ".join(p for p in (rest, note.strip()) if p)
    for field in ("signature", "fingerprint"):
        if text.startswith(field + ":"):
            return {"entry": text[len(field) + 1:].strip(), "field": field, "url": url, "note": note.strip() or None}
    entry, _, rest = text.partition(" ")
    note = " ".join(p for p in (rest.strip(), note.strip()) if p)
    return {"entry": entry, "field": "plain", "url": url, "note": note or None}


def _strip_comment(line):
    """The line before its # comment. A URL's #fragment is no comment; nor, on a signature or
    fingerprint line, is a # that does not stand alone (error messages' shapes hold "#_")."""
    import re
    exact = line.lstrip().startswith(("signature:", "fingerprint:"))
    for m in re.finditer("#", line):
        i = m.start()
        if re.match(r"https?://", line[len(re.sub(r"\S*$", "", line[:i])):]):
            continue
        if exact and not (i == 0 or line[i - 1].isspace() and (i + 1 == len(line) or line[i + 1].isspace())):
            continue
        return line[:i]
    return line


def read_known_issues(path, warn=True):
    """Every entry of an --xfail file (parse_known_issue), warning about plain entries that are
    neither a clause ID nor a discrepancy kind."""
    from conformance.clauses import ALL_IDS
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read --xfail file {path}: {e}") from None
    entries = [e for e in map(parse_known_issue, lines) if e]
    for e in entries if warn else ():
        if e["field"] == "plain" and e["entry"] not in ALL_IDS and e["entry"] not in KINDS:
            print(f"rnnconf: warning: --xfail entry {e['entry']!r} is neither a clause ID nor a discrepancy kind",
                  file=sys.stderr)
    return entries


def read_xfail(path):
    """The plain entries of an --xfail file (clause IDs or discrepancy kinds): what the suite and the
    campaign accept by themselves; signature and fingerprint entries are applied to the results."""
    return [e["entry"] for e in read_known_issues(path) if e["field"] == "plain"]


def _known_issue_matches(entry, d):
    if entry["field"] == "signature":
        return d.get("signature") == entry["entry"]
    if entry["field"] == "fingerprint":
        fp = d.get("fingerprint")
        if isinstance(fp, dict):
            return f"{fp.get('kind')} | {fp.get('core')}" == entry["entry"]
        return " | ".join((d.get("signature") or "").split(" | ")[:2]) == entry["entry"]
    return entry["entry"] == d.get("kind") or entry["entry"] in (d.get("clauses") or [])


def apply_known_issues(data, known, suite=None):
    """Mark the discrepancies a known issue accounts for (xfail, with the issue) and record every
    entry in data["known_issues"] with what it matched, or NO_LONGER_REPRODUCES."""
    suite_clauses = (suite or {}).get("clauses") or {}
    rows = []
    for entry in known:
        hits = [d for d in data["discrepancies"] if _known_issue_matches(entry, d)]
        for d in hits:
            d["xfail"] = True
            d.setdefault("known_issue", {k: entry[k] for k in ("entry", "field", "url", "note")})
        in_suite = entry["field"] == "plain" and bool(suite_clauses.get(entry["entry"], {}).get("failures"))
        rows.append({**entry, "discrepancies": [d["id"] for d in hits], "suite": in_suite,
                     "status": "matched" if hits or in_suite else NO_LONGER_REPRODUCES})
    data["known_issues"] = rows
    return rows


def _plain_xfail_file(out, xfail):
    """The plain entries written where the suite reads them (its --xfail takes one ID a line)."""
    path = os.path.join(out, "xfail.plain.txt")
    with open(path, "w") as f:
        f.write("".join(f"{e}\n" for e in xfail))
    return path


def _validate(args):
    shard = parse_shard(args.shard)
    for name in ("budget", "max_examples", "workers", "example_timeout", "shrink_budget", "worker_memory",
                 "variants"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive; got {value}")
    xfail = read_xfail(args.xfail) if args.xfail else []
    return shard, xfail


def read_baseline(path):
    """The --baseline results dict, or a UsageError before any work is done."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"cannot read --baseline {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read --baseline {path}: not a results.json object")
    return data


def _probe(name, out):
    """Resolve NAME the way the workers will (in a worker process): versions, or a UsageError."""
    from fuzz.worker import Worker, WorkerSetupError
    worker = Worker(name, stderr_path=os.path.join(out, "workers.log"))
    try:
        worker.start()
    except WorkerSetupError as e:
        raise UsageError(str(e)) from None
    finally:
        worker.stop()
    return worker.versions


# ---- the stages -----------------------------------------------------------------------------------------
class Incomplete(Exception):
    """A stage did not finish (timed out, crashed, collected nothing): one line for stderr, exit 2."""


SUITE_POLL_S = 0.5


def run_suite(args, out, timeout_s, workers=1, on_progress=None, quick=False):
    """(a) The conformance suite in a subprocess, one example of every test first (--breadth-first),
    each finished test appended to DIR/conformance.stream.jsonl as it goes. Returns the clause report
    with "exit", "seconds" and "first_failure_t"; raises Incomplete where the suite did not finish
    within `timeout_s` or did not run (pytest's exit 2-5), UsageError where it could not start.
    With --fail-fast, pytest stops at the first failing test (-x), which is a complete answer.
    `quick` runs only the first example of every test function: every clause, in a short budget."""
    # Absolute: the suite runs in the folder that holds the conformance package, not the caller's.
    path = os.path.abspath(os.path.join(out, "conformance.json"))
    from rnnconf import targets
    remote = targets.split_remote(args.impl)
    impl = ["--impl", remote[0], "--impl-python", remote[1]] if remote else ["--impl", args.impl]
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
           *impl, "--oracle", args.oracle, "--clause-report", path]
    if args.xfail:
        cmd += ["--xfail", os.path.abspath(args.xfail)]
    if getattr(args, "known_path", None):
        cmd += ["--known", os.path.abspath(args.known_path)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
    from conformance.oracle_coverage import suite_arguments
    cmd += suite_arguments()
    if args.fail_fast:
        cmd += ["-x"]
    _say(f"conformance suite: {' '.join(cmd[2:])}")
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
            _stop(proc, grace_s=10)
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


def _stop(proc, grace_s):
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


def _campaign_meta(out, args):
    """campaign.json: what a resumed run reuses (the seed) and checks (impl, oracle)."""
    path = os.path.join(out, "campaign.json")
    if os.path.exists(path):
        with open(path) as f:
            meta = json.load(f)
        if (meta["impl"], meta["oracle"]) != (args.impl, args.oracle):
            raise UsageError(f"{out} holds a campaign of {meta['impl']} against {meta['oracle']}; "
                             f"use another --out for {args.impl} against {args.oracle}")
        if args.seed is not None and args.seed != meta["seed"]:
            raise UsageError(f"{out} holds a campaign with --seed {meta['seed']}; resume it with that seed "
                             "or use another --out")
        meta["resumed"] = meta.get("resumed", 0) + 1
    else:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 31)
        meta = {"impl": args.impl, "oracle": args.oracle, "seed": seed, "started": time.time(),
                "elapsed_before_s": 0.0}
    with open(path, "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def _say(text):
    print(f"rnnconf: {text}", file=sys.stderr, flush=True)


def _target_of(args):
    """Sets up a target's environment (first use: with pip's progress) or checks --impl-python; from
    then on args.impl names the implementation as every stage resolves it (`IMPL@PYTHON` for
    --impl-python: conformance/namespaces.py), args.impl_name as the user typed it."""
    from rnnconf import targets
    args.impl_name = args.impl
    python = getattr(args, "impl_python", None)
    if python:
        if targets.split_remote(args.impl) or args.impl in targets.TARGETS:
            raise UsageError(f"--impl-python runs a module with your interpreter; --impl {args.impl} already "
                             "names its environment")
        args.impl = f"{args.impl}@{os.path.abspath(python)}"
    try:
        targets.remote_spec(args.impl)
    except targets.TargetError as e:
        raise UsageError(str(e)) from None


def check(args):
    start = time.time()
    shard, xfail = _validate(args)
    baseline = read_baseline(args.baseline) if args.baseline else None
    _target_of(args)
    args.known_path, differences = read_known_differences(args)
    budget = args.budget if args.budget is not None else (None if args.max_examples else DEFAULT_BUDGET_S)
    hard_end = start + budget if budget else float("inf")
    out = args.out or os.path.join("reports", f"{args.impl_name.replace(':', '_').replace('/', '_')}-"
                                   f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --out {out}: {e}") from None
    known = read_known_issues(args.xfail, warn=False) if args.xfail else []  # _validate warned
    if args.xfail:
        args.xfail = _plain_xfail_file(out, xfail)
    meta = _campaign_meta(out, args)
    if getattr(args, "oracle_coverage", False):
        from conformance.oracle_coverage import measuring, unavailable
        if unavailable():
            raise UsageError(unavailable())
        with measuring(out, args.oracle):  # every process started from here on that runs the oracle
            return _check_processes(args, start, budget, hard_end, out, meta, shard, xfail, known, baseline,
                                    differences)
    return _check_processes(args, start, budget, hard_end, out, meta, shard, xfail, known, baseline, differences)


def _check_processes(args, start, budget, hard_end, out, meta, shard, xfail, known, baseline, differences):
    # Each probe starts a worker (a framework import, seconds): both run while the suite starts.
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2, thread_name_prefix="rnnconf-probe") as pool:
        probes = [pool.submit(_probe, name, out) for name in (args.oracle, args.impl)]
        versions = {}

        def probed():
            if not versions:
                from conformance.results import merge_versions
                oracle, impl = (probe.result() for probe in probes)  # a UsageError of a probe is raised here
                versions.update(merge_versions(oracle, impl, args.impl))
            return versions
        return _check_stages(args, start, budget, hard_end, out, meta, shard, xfail, probed, known, baseline,
                             differences)


def read_known_differences(args):
    """(path, entries) of the known differences `check` judges with: --known FILE, else the file
    shipped for the target (conformance.known_differences.target_file); (None, []) for `--known none`."""
    from conformance import known_differences
    path = args.known if args.known else known_differences.target_file(args.impl_name)
    if not path or path == "none":
        return None, []
    try:
        entries = known_differences.read(path)
    except known_differences.KnownDifferencesError as e:
        raise UsageError(f"--known: {e}") from None
    _say(f"known differences: {path} ({len(entries)} entries)")
    return path, entries


def _check_stages(args, start, budget, hard_end, out, meta, shard, xfail, probed, known, baseline,
                  differences=()):
    """The stages of `check` once DIR and the campaign's metadata are set up; `probed()` waits for
    the implementations' probes and gives their versions."""
    from conformance.results import Results, root_causes
    from fuzz import campaign, logs, repro

    cores = os.cpu_count() or 1
    workers = args.workers or cores
    reserve = min(15.0, 0.1 * budget) if budget else 0.0   # time left for the report stage
    deadline = hard_end - reserve
    # Side by side where there are cores for both (each stage gets half); on fewer cores the
    # suite first, on all of them: it judges every clause within seconds of its start.
    side_by_side = not args.skip_suite and cores >= 4 and workers >= 2
    suite_workers = max(1, workers // 2) if side_by_side else workers
    fuzz_workers = workers - suite_workers if side_by_side else workers
    stage_seconds = {}
    tail = logs.LogTail(out)  # follows the logs; results.json is rebuilt from its tallies
    suite_box = {}

    def suite_stage():
        t0 = time.time()
        limit = (deadline - t0 - (0 if side_by_side else MIN_FUZZ_S)) if budget else float("inf")
        try:
            quick = args.suite == "quick" or (args.suite == "auto" and budget is not None
                                              and budget < FULL_SUITE_BUDGET_S)
            suite_box["report"] = run_suite(args, out, max(limit, 1.0), workers=suite_workers, quick=quick)
        except (Incomplete, UsageError) as e:
            suite_box["error"] = e
        stage_seconds["suite"] = round(time.time() - t0, 3)
        report = suite_box.get("report")
        if report is not None:
            failed = len(report.get("failed_tests", []))
            _say(f"stage suite ({report['mode']}): {stage_seconds['suite']:.1f}s, {report['tests']} tests, "
                 f"{failed} failed")

    def suite_failed():
        report = suite_box.get("report")
        return bool(report) and any(c.get("failures") and cid not in xfail
                                    for cid, c in report.get("clauses", {}).items())

    suite_thread = None
    if not args.skip_suite:
        if side_by_side:
            suite_thread = threading.Thread(target=suite_stage, name="rnnconf-suite", daemon=True)
            suite_thread.start()
        else:
            suite_stage()
            if "error" in suite_box:
                raise suite_box["error"]

    from rnnconf import targets
    specs = campaign.driver_specs(
        impl=args.impl, oracle=args.oracle, out=out, seed=meta["seed"], shard=shard, workers=fuzz_workers,
        max_examples=args.max_examples, deadline=deadline, fail_fast=args.fail_fast, xfail=xfail,
        timeout_s=args.example_timeout, shrink_budget_s=args.shrink_budget, memory_mb=args.worker_memory,
        variants=args.variants, fixed_weights=targets.fixed_weights(args.impl),
        known=os.path.abspath(args.known_path) if args.known_path else None)

    def results_now():
        suite = suite_box.get("report")
        results = Results(args.impl, args.oracle, seed=meta["seed"], versions=probed())
        if suite:
            results.merge_suite(suite)
        data = logs.aggregate(out, results, xfail, since=start, tail=tail)
        firsts = [t for t in (data["time_to_first_discrepancy_s"],
                              suite and suite.get("first_failure_t") and suite["first_failure_t"] - start)
                  if t is not None]
        data["time_to_first_discrepancy_s"] = round(min(firsts), 3) if firsts else None
        data["elapsed_s"] = round(meta["elapsed_before_s"] + time.time() - start, 3)
        data["shard"] = f"{shard[0]}/{shard[1]}"
        data["stages"] = dict(stage_seconds)
        data["progress"] = list(progress_samples)
        if suite:
            data["suite"] = {"exit": suite.get("exit"), "tests": suite.get("tests"), "mode": suite.get("mode"),
                             "failed_tests": suite.get("failed_tests", [])}
        data["root_causes"] = root_causes(data, xfail)
        return data

    progress_samples = []  # [elapsed s, examples, clauses reached, distinct discrepancies]: coverage growth

    def sample(data):
        reached = sum(1 for c in data["clauses"].values() if c["status"] != "untested")
        progress_samples.append([round(time.time() - start, 1), data["examples"], reached,
                                 len(data["discrepancies"])])

    def write_results(data):
        tmp = os.path.join(out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, default=str)
        os.replace(tmp, os.path.join(out, "results.json"))  # never a half-written results.json

    probed()  # an implementation that cannot be set up ends the run here, before fuzzing
    examples_before = tail.poll(xfail).examples
    sample(results_now())  # coverage after the suite (when it ran first)
    if args.fail_fast and suite_failed():
        _say("stage fuzz: skipped, --fail-fast and the suite failed")
    else:
        progress = _Progress(enabled=not args.no_progress, total=args.max_examples, budget_end=deadline)
        last_write = [time.time()]

        def on_tick(_):
            progress.update(tail)
            if time.time() - last_write[0] > 5.0:
                data = results_now()
                sample(data)
                write_results(data)
                last_write[0] = time.time()

        t0 = time.time()
        progress.start(examples_before)
        try:
            campaign.run_drivers(specs, on_tick=on_tick, tail=tail,
                                 stop=(lambda: args.fail_fast and suite_failed()) if side_by_side else None)
        finally:
            progress.stop()
        stage_seconds["fuzz"] = round(time.time() - t0, 3)
        if tail.setup_errors and tail.examples == examples_before:
            raise UsageError(tail.setup_errors[0])
        ran = tail.examples - examples_before
        _say(f"stage fuzz: {stage_seconds['fuzz']:.1f}s, {ran} examples with {fuzz_workers} worker(s)")
        stopped_early = args.fail_fast and (tail.failing or suite_failed())
        if tail.driver_failures:
            raise Incomplete(f"the fuzzing stage did not complete: {tail.driver_failures[0]}")
        if ran == 0 and not stopped_early and args.max_examples != 0:
            raise Incomplete("the fuzzing stage ran no example: give --budget more time")
    if suite_thread is not None:
        suite_thread.join()
        if "error" in suite_box:
            raise suite_box["error"]

    t0 = time.time()
    sample(results_now())
    data = results_now()
    if known:
        apply_known_issues(data, known, suite_box.get("report"))
    if differences:
        from conformance import known_differences
        rows = known_differences.annotate(data, differences)
        matched = [r for r in rows if r["status"] == "matched"]
        _say(f"known differences: {len(matched)} of {len(rows)} entries account for failing checks, which are "
             f"differs-by-design" + "".join(f"\n  {r['note']} ({r['url']}): {len(r['suite_tests'])} suite tests, "
                                           f"{r['examples']} fuzzed examples" for r in matched))
    if known or differences:
        data["root_causes"] = root_causes(data, xfail)  # with what the known issues and differences account for
    if getattr(args, "oracle_coverage", False):
        from conformance.oracle_coverage import data_dir_of, summarize
        data["oracle_coverage"] = summarize(data_dir_of(out))
    for item in data["discrepancies"]:
        if args.impl == "tfjs":  # standalone JavaScript, fit for a tfjs issue
            from rnnconf.tfjs import repro as tfjs_repro
            tfjs_repro.write(out, item, args.oracle, versions=data["versions"])
        else:
            repro.write(out, item, args.impl, args.oracle, versions=data["versions"])
    for cause in data["root_causes"]:
        if cause["source"] == "suite" and cause.get("repro"):
            if args.impl == "tfjs":
                cause["repro"] = None  # its reproducers are JavaScript, written from fuzzed discrepancies
                continue
            try:
                repro.write(out, repro.suite_item(cause), args.impl, args.oracle, versions=data["versions"])
            except Exception as e:  # noqa: BLE001 - the failed tests themselves stay in the report
                _say(f"warning: no reproducer for root cause {cause['id']}: {type(e).__name__}: {e}")
                cause["repro"], cause["no_repro"] = None, f"writing it failed ({type(e).__name__}: {e})"[:300]
    from rnnconf.converters import onnx_runtimes  # one converted model on three runtimes: whose difference
    onnx_runtimes.attribute(out, data, args.impl, log=sys.stderr)
    write_results(data)
    meta["elapsed_before_s"] = data["elapsed_s"]
    with open(os.path.join(out, "campaign.json"), "w") as f:
        json.dump(meta, f, indent=1)
    changes = _write_diff(baseline, data, out, xfail) if baseline is not None else None
    _render_outputs(data, out, changes)
    _say(f"stage report: {time.time() - t0:.1f}s")
    return _exit_status(data, suite_box.get("report"), xfail, tail.examples - examples_before, time.time() - start,
                        changes=changes)


def _write_diff(baseline, data, out, xfail):
    """DIR/diff.json and its summary on stderr; the diff with its "gating" part (what fails CI)."""
    from reports import diff
    changes = diff.diff(baseline, data)
    changes["gating"] = diff.gating(changes, accepted=lambda item: _accepted(item, xfail))
    with open(os.path.join(out, "diff.json"), "w") as f:
        json.dump(changes, f, indent=2, default=str)
    print(diff.summary(changes, changes["gating"]), file=sys.stderr)
    return changes


def _accepted(item, xfail):
    """Whether an --xfail entry accepts a diff item (a clause ID, a discrepancy or a suite test row)."""
    if isinstance(item, str):
        return item in xfail
    if "kind" in item:
        from conformance.results import is_xfailed
        return is_xfailed(item, xfail)
    return bool(item["clauses"]) and all(c in xfail for c in item["clauses"])


def _render_outputs(data, out, changes=None):
    render = _render()
    if render is None:
        _say("warning: reports.render is not available; wrote results.json only")
        return
    try:
        render.render_report(data, out, changes=changes)
        render.write_junit(data, os.path.join(out, "junit.xml"))
    except Exception as e:  # noqa: BLE001 - the data is safe in results.json; say what failed
        _say(f"warning: rendering the report failed: {type(e).__name__}: {e}")


def _exit_status(data, suite, xfail, examples, elapsed, changes=None):
    unexpected = [d for d in data["discrepancies"] if not d.get("xfail")]
    suite_failed = sorted(cid for cid, c in ((suite or {}).get("clauses") or {}).items()
                          if c.get("failures") and cid not in xfail)
    if "known_issues" in data:
        for row in data["known_issues"]:
            if row["status"] == NO_LONGER_REPRODUCES:
                _say(f"warning: --xfail entry {row['entry']!r} matched nothing in this run: {NO_LONGER_REPRODUCES}")
    else:
        matched = {e for e in xfail if any(e == d["kind"] or e in d["clauses"] for d in data["discrepancies"])}
        matched |= {e for e in xfail if ((suite or {}).get("clauses") or {}).get(e, {}).get("failures")}
        for entry in xfail:
            if entry not in matched:
                _say(f"warning: --xfail entry {entry!r} matched nothing in this run")
    tested = sum(1 for c in data["clauses"].values() if c["status"] != "untested")
    conversions = (f"{data['conversions']} models converted ({data['conversions'] / max(elapsed, 1e-9):.2f}/s), "
                   if data.get("conversions") else "")
    causes = data.get("root_causes") or []
    _say(f"{data['examples']} examples ({examples} this run, {examples / max(elapsed, 1e-9):.1f}/s overall), "
         f"{conversions}{len(causes)} root causes ({sum(1 for c in causes if not c.get('xfail'))} unexpected; "
         f"{len(data['discrepancies'])} discrepancies, {len(unexpected)} unexpected), "
         f"{tested}/{len(data['clauses'])} clauses reached"
         + (f", suite failures in {', '.join(suite_failed)}" if suite_failed else ""))
    if changes is not None:  # with a baseline, only what is new fails the run
        from reports.diff import count
        return FOUND if count(changes["gating"]) else OK
    return FOUND if unexpected or suite_failed else OK


class _Progress:
    """Examples, examples/s and discrepancies on stderr (Rich), or nothing."""

    def __init__(self, enabled, total, budget_end):
        self.enabled, self.total, self.budget_end = enabled, total, budget_end
        self._progress = None

    def start(self, done):
        self.t0, self.done0 = time.time(), done
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        self._progress = Progress(TextColumn("fuzzing"), BarColumn(), TextColumn("{task.fields[line]}"),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("fuzz", total=self.total, completed=done, line="starting workers")

    def update(self, tail):
        if self._progress is None:
            return
        rate = (tail.examples - self.done0) / max(time.time() - self.t0, 1e-9)
        left = max(0.0, self.budget_end - time.time()) if self.budget_end != float("inf") else None
        line = (f"{tail.examples} examples, {rate:.1f}/s, {tail.discrepancies} discrepancies"
                + (f", {left:.0f}s left" if left is not None else ""))
        self._progress.update(self._task, completed=tail.examples, line=line)

    def stop(self):
        if self._progress is not None:
            self._progress.stop()


if __name__ == "__main__":
    sys.exit(main())
