"""The fuzzing campaign end to end, through `rnnconf check`, against test-only buggy namespaces.

The oracle here is the NumPy reference (fast workers); each target in tests/fuzz_targets/ is the
reference with one bug. The fuzzer must find the bug within a bounded number of examples, shrink
it to a small configuration, write a reproducer that fails while the bug is there, and survive
crashes and hangs of the implementation.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnconf.engine import execute
from rnnconf.engine.cases import normalize
from rnnconf.fuzz import budgets, campaign, differential, driver, logs
from rnnconf import cli

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture(autouse=True)
def _importable_targets(monkeypatch):
    # Spawned drivers and workers import `fuzz_targets.*` from tests/.
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def check(out, impl, *extra, oracle="reference", max_examples=200, seed=1, variants=1):
    # One variant per drawn case unless a test is about variants: these tests count drawn cases.
    argv = ["check", "--impl", impl, "--oracle", oracle, "--out", str(out), "--skip-suite", "--workers", "1",
            "--no-progress", "--seed", str(seed), "--max-examples", str(max_examples),
            "--variants", str(variants), *extra]
    return cli.main(argv)


def results(out):
    return json.loads((Path(out) / "results.json").read_text())


def logged_cases(out):
    return [case for p in logs.log_paths(str(out)) for case in logs.example_cases(logs.read_log(p))]


@pytest.mark.parametrize("target, clause", [
    ("backwards_not_reversed", "FLAG-03"),
    ("gru_recurrent_bias_dropped", "CELL-03"),
    ("mask_ignored", "MASK-01"),
    ("stateful_forgets", "FLAG-04"),
])
def test_finds_and_shrinks_a_planted_bug(tmp_path, target, clause):
    status = check(tmp_path, f"fuzz_targets.{target}", "--fail-fast", max_examples=300)
    data = results(tmp_path)
    assert status == 1 and data["discrepancies"], "the planted bug was not found"
    d = data["discrepancies"][0]
    assert clause in d["clauses"], d
    config = d["config"]
    assert config.get("batch", 2) <= 2 and config.get("timesteps", 4) <= 3 and len(config["cells"]) == 1, config
    assert data["examples"] <= 300
    assert data["clauses"][clause]["failures"] >= 1
    examples = [r for p in logs.log_paths(str(tmp_path)) for r in logs.read_log(p) if r["type"] == "example"]
    assert all("case" in r for r in examples if not r["ok"]), "a failing example is logged with its whole case"
    found = [r for p in logs.log_paths(str(tmp_path)) for r in logs.read_log(p) if r["type"] == "discrepancy"]
    assert found and all(r["shrink_runs"] > 0 and r["shrink_s"] > 0 for r in found)  # what the bench adds up


# Single-bug targets beyond wrong values: an error with the right class and the wrong facts, a
# structure difference, a dtype difference; and one bug only a reused layer shows.
SINGLE_BUGS = [
    ("reset_counts_swapped", "error", "ERR-14"),
    ("stack_states_nested", "structure", "CELL-10"),
    ("states_float32", "dtype", "FLAG-02"),
    ("gru_recurrent_bias_dropped", "value", "CELL-03"),
]


@pytest.mark.parametrize("target, kind, clause", SINGLE_BUGS)
def test_a_single_bug_is_exactly_one_discrepancy(tmp_path, target, kind, clause):
    """A whole campaign (no --fail-fast) on a target with one bug reports it once, however many
    drawn cases fail with it."""
    status = check(tmp_path, f"fuzz_targets.{target}", max_examples=500)
    data = results(tmp_path)
    assert status == 1
    assert [(d["kind"], clause in d["clauses"]) for d in data["discrepancies"]] == [(kind, True)], [
        d["signature"] for d in data["discrepancies"]]
    assert data["discrepancies"][0]["occurrences"] >= 1


def test_several_bugs_are_each_their_own_discrepancy(tmp_path):
    """One campaign on a target with four independent bugs reports each as a discrepancy of its own:
    every reproducer fails on exactly one of the single-bug targets, and every bug has one."""
    from fuzz_targets.several_bugs import SINGLE_BUG_TARGETS
    from rnnconf.engine import judge
    from rnnconf.adapters import namespaces
    status = check(tmp_path, "fuzz_targets.several_bugs", max_examples=1500, seed=2)
    data = results(tmp_path)
    assert status == 1
    reference = namespaces.resolve("reference")
    singles = {t: namespaces.resolve(f"fuzz_targets.{t}") for t in SINGLE_BUG_TARGETS}
    attributed = {}
    for d in data["discrepancies"]:
        # What the reproducer runs (judge.run_and_judge), with --impl set to each single-bug target.
        failing = [t for t, target in singles.items()
                   if judge.run_and_judge(target, reference, d["config"])[2]["status"] == "fail"]
        assert len(failing) == 1, (d["signature"], failing)
        attributed.setdefault(failing[0], []).append(d["signature"])
    assert set(attributed) == set(SINGLE_BUG_TARGETS), attributed
    assert len(data["discrepancies"]) <= len(SINGLE_BUG_TARGETS) + 2, attributed


def test_a_bug_only_a_reused_layer_shows_is_reported_and_replayed(tmp_path):
    """The implementation's eager reuse is judged, not retried: a layer that keeps its first mask is
    found with its warmup (the earlier case it ran), and the reproducer's judge fails on it."""
    from rnnconf.engine import judge
    from rnnconf.adapters import namespaces
    status = check(tmp_path, "fuzz_targets.mask_cached_at_build", "--fail-fast", max_examples=400, variants=8)
    data = results(tmp_path)
    assert status == 1
    (d,) = data["discrepancies"]
    assert d["config"].get("warmup") and d["fingerprint"]["core"].endswith("(on a reused layer)"), d
    buggy = namespaces.resolve("fuzz_targets.mask_cached_at_build")
    assert judge.run_and_judge(buggy, namespaces.resolve("reference"), d["config"])[2]["status"] == "fail"


@pytest.mark.parametrize("target", ["dropout_no_scaling", "dropout_recurrent_ignored", "dropout_mask_per_timestep"])
def test_a_dropout_bug_is_found_by_its_distribution(tmp_path, target):
    """Dropout while training is judged on samples of both sides (engine/dropout.py): a planted
    dropout bug is a value discrepancy whose detail gives the statistics on both sides."""
    status = check(tmp_path, f"fuzz_targets.{target}", "--fail-fast", "--shrink-budget", "10", max_examples=600)
    data = results(tmp_path)
    assert status == 1
    (d,) = data["discrepancies"]
    assert d["kind"] == "value" and d["fingerprint"]["core"].startswith("distribution of"), d["signature"]
    assert "training=True" in d["fingerprint"]["features"] and "oracle mean" in d["detail"], d["detail"]


def test_reproducer_fails_while_the_bug_is_there(tmp_path):
    assert check(tmp_path, "fuzz_targets.backwards_not_reversed", "--fail-fast") == 1
    script = tmp_path / results(tmp_path)["discrepancies"][0]["repro"]
    env = dict(os.environ, PYTHONPATH=f"{TESTS}{os.pathsep}{ROOT}")
    buggy = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert buggy.returncode == 1 and "discrepancy persists" in buggy.stdout, buggy.stdout + buggy.stderr
    assert "== oracle (reference)" in buggy.stdout and "== implementation" in buggy.stdout
    fixed = subprocess.run([sys.executable, str(script), "--impl", "reference"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_a_crashing_implementation_becomes_crash_rows_and_the_campaign_goes_on(tmp_path):
    status = check(tmp_path, "fuzz_targets.aborts", "--shrink-budget", "5", "--budget", "90", max_examples=40)
    data = results(tmp_path)
    crashes = [d for d in data["discrepancies"] if d["kind"] == "crash"]
    assert status == 1 and crashes
    assert "SIGABRT" in crashes[0]["detail"] and crashes[0]["config"]["flags"].get("go_backwards")
    assert data["examples"] == 40, "the campaign stopped at the crash instead of replacing the worker"


def test_an_oracle_that_crashes_makes_examples_inconclusive_never_a_discrepancy(tmp_path):
    """The oracle crashing (here: on every go_backwards case) says nothing about the implementation:
    such examples are inconclusive, listed in results.json and the report, and the run passes."""
    status = check(tmp_path, "reference", "--budget", "120", oracle="fuzz_targets.aborts", max_examples=40)
    data = results(tmp_path)
    assert status == 0 and data["discrepancies"] == []
    failures = data["oracle_failures"]
    assert failures["count"] > 0 and "SIGABRT" in failures["examples"][0]["detail"]
    assert failures["examples"][0]["case"]["flags"].get("go_backwards")
    flag = data["clauses"]["FLAG-03"]  # checked only where the oracle answered (its error paths)
    assert flag["inconclusive"] == flag["failures"] == 0 and flag["status"] != "fail"
    assert "oracle-failures" in (tmp_path / "report.html").read_text()


def test_a_hanging_implementation_becomes_a_timeout_row_within_the_budget(tmp_path):
    status = check(tmp_path, "fuzz_targets.hangs", "--example-timeout", "1", "--shrink-budget", "3",
                   "--budget", "20", max_examples=100000)
    data = results(tmp_path)
    timeouts = [d for d in data["discrepancies"] if d["kind"] == "timeout"]
    assert status == 1 and timeouts and timeouts[0]["config"]["flags"].get("unroll")
    assert data["elapsed_s"] < 20 + 10  # the budget, plus one example timeout and the worker teardown


def test_a_timeout_that_does_not_repeat_is_no_discrepancy(tmp_path, monkeypatch):
    """A worker stalled once (a busy machine) is not a hanging implementation: the case runs again on
    a fresh layer, and passing there makes the example inconclusive (neither a pass nor a discrepancy)."""
    mark = tmp_path / "stalled"
    monkeypatch.setenv("RNNCONF_STALL_MARK", str(mark))
    status = check(tmp_path / "run", "fuzz_targets.stalls_once", "--example-timeout", "3", max_examples=20)
    data = results(tmp_path / "run")
    assert mark.exists(), "the implementation stalled once"
    assert status == 0 and data["discrepancies"] == [] and data["examples"] == 20
    assert data["clauses"]["CALL-01"]["inconclusive"] == 1


def test_same_seed_same_examples(tmp_path):
    check(tmp_path / "a", "reference", max_examples=12, seed=7)
    check(tmp_path / "b", "reference", max_examples=12, seed=7)
    check(tmp_path / "c", "reference", max_examples=12, seed=8)
    a, b, c = (logged_cases(tmp_path / x) for x in "abc")
    assert len(a) == 12 and a == b
    assert a != c


def test_shards_split_the_examples(tmp_path):
    for k in (1, 2):
        assert check(tmp_path, "reference", "--shard", f"{k}/2", max_examples=20) == 0
    one = logs.read_log(str(tmp_path / "log-1-2-w1.jsonl"))
    two = logs.read_log(str(tmp_path / "log-2-2-w1.jsonl"))
    cases = [[json.dumps(case, sort_keys=True) for case in logs.example_cases(log)] for log in (one, two)]
    assert len(cases[0]) == len(cases[1]) == 10
    assert len(set(cases[0]) & set(cases[1])) <= 2  # Hypothesis starts both from the simplest case


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    cmd = [sys.executable, "-m", "rnnconf.cli", "check", "--impl", "reference", "--oracle", "reference",
           "--out", str(tmp_path), "--skip-suite", "--workers", "1", "--no-progress", "--seed", "3",
           "--max-examples", "100000"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(logged_cases(tmp_path)) < 15:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole run: CLI, driver and workers, mid-write
        proc.wait()
    before = logged_cases(tmp_path)
    assert len(before) >= 15
    assert check(tmp_path, "reference", max_examples=len(before) + 10, seed=3) == 0
    after = logged_cases(tmp_path)
    assert after[:len(before)] == before and len(after) == len(before) + 10
    assert results(tmp_path)["examples"] == len(before) + 10
    # Resuming continues the sequence of rounds instead of replaying the first one.
    assert after[len(before):] != before[:10]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_cli_stops_its_drivers_and_workers(tmp_path, how):
    """SIGTERM unwinds the CLI, which stops its drivers; after SIGKILL the drivers see they were
    orphaned and stop, and their workers follow: nothing keeps burning CPU."""
    cmd = [sys.executable, "-m", "rnnconf.cli", "check", "--impl", "reference", "--oracle", "reference",
           "--out", str(tmp_path), "--skip-suite", "--workers", "1", "--no-progress", "--budget", "300"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(logged_cases(tmp_path)) < 15:
            time.sleep(0.2)
        tree = _descendants(proc.pid)
        assert len(tree) >= 3, "a driver and its two workers"
    finally:
        proc.send_signal(how)
        proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in tree):
        time.sleep(0.2)
    assert not [pid for pid in tree if _alive(pid)]


def _descendants(pid):
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        except OSError:
            continue
        found += children
        frontier += children
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_found_failure_is_replayed_first_on_resume(tmp_path):
    target = "fuzz_targets.backwards_not_reversed"
    assert check(tmp_path, target, "--fail-fast") == 1
    shrunk = results(tmp_path)["discrepancies"][0]["config"]
    n = len(logged_cases(tmp_path))
    assert check(tmp_path, target, "--fail-fast", max_examples=n + 5) == 1
    assert shrunk in logged_cases(tmp_path)[n:n + 3]  # from DIR/hypothesis, before new exploration
    assert len(results(tmp_path)["discrepancies"]) == 1  # the same one, counted again, not a new row


def test_tf_keras_against_itself_agrees(tmp_path):
    status = check(tmp_path, "tf_keras", oracle="tf_keras", max_examples=25)
    data = results(tmp_path)
    assert status == 0 and data["discrepancies"] == [] and data["examples"] == 25
    assert sum(c["checks"] for c in data["clauses"].values()) > 25
    margin = data["clauses"]["CALL-01"]["margin"]  # every passing comparison of values, per dtype
    counted = sum(n for entry in margin.values() for n in entry["hist"].values())
    assert 0 < counted <= data["clauses"]["CALL-01"]["checks"]
    assert all(0 <= entry["max"] <= 1 for entry in margin.values())


def test_xfail_accepts_known_kinds_and_warns_about_unused_entries(tmp_path, capsys):
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("# known\nvalue\nSTATE-06\n")
    status = check(tmp_path / "out", "fuzz_targets.backwards_not_reversed", "--xfail", str(xfail), max_examples=150)
    data = results(tmp_path / "out")
    assert data["discrepancies"] and all(d["xfail"] for d in data["discrepancies"] if d["kind"] == "value")
    err = capsys.readouterr().err
    assert "'STATE-06' matched nothing" in err
    assert status == (1 if any(not d["xfail"] for d in data["discrepancies"]) else 0)


@pytest.mark.parametrize("argv, message", [
    (["--shard", "3/2"], "--shard"),
    (["--variants", "0"], "--variants must be positive; got 0"),
    (["--xfail", "/nonexistent/xfail.txt"], "cannot read --xfail"),
    (["--impl", "no_such_module_for_rnnconf"], "cannot import implementation module"),
])
def test_usage_and_setup_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    base = ["check", "--impl", "reference", "--oracle", "reference", "--out", str(tmp_path), "--skip-suite",
            "--max-examples", "5", "--workers", "1", "--no-progress"]
    assert cli.main(base + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_rnnconfs_own_failure_exits_3_not_1(tmp_path, capsys, monkeypatch):
    def broken(args):
        raise ModuleNotFoundError("No module named 'torch'")
    monkeypatch.setattr(cli, "check", broken)
    assert cli.main(["check", "--impl", "reference", "--out", str(tmp_path)]) == cli.INTERNAL == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error (exit 3)" in err


def test_versions_are_plain_strings_another_process_can_unpickle(monkeypatch):
    import pickle
    import types
    from rnnconf.adapters import in_process

    class OwnVersion(str):  # as torch's TorchVersion: unpicklable where its module is missing
        pass
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__=OwnVersion("2.13.0")))
    versions = in_process._versions("impl")
    assert type(versions["torch"]) is str and b"OwnVersion" not in pickle.dumps(versions)


def test_a_memory_blow_up_becomes_a_crash_row(tmp_path):
    status = check(tmp_path, "fuzz_targets.bloats", "--worker-memory", "400", "--example-timeout", "10",
                   "--shrink-budget", "5", "--fail-fast", max_examples=150)
    crashes = [d for d in results(tmp_path)["discrepancies"] if d["kind"] == "crash"]
    assert status == 1 and crashes and "resident memory" in crashes[0]["detail"]
    assert crashes[0]["config"]["flags"].get("return_state")


def test_each_drawn_case_runs_as_seed_variants_on_reused_layers(tmp_path):
    assert check(tmp_path, "reference", max_examples=24, variants=8) == 0
    cases = logged_cases(tmp_path)
    assert len(cases) == 24
    for block in (cases[0:8], cases[8:16], cases[16:24]):
        structures = {execute.structure_key(normalize(c)) for c in block}
        assert len(structures) == 1, "the variants of one drawn case differ only in their data"
        assert len({c.get("seed", 0) for c in block}) == 8
    # Passing variants after the first are logged by reference; the cases rebuilt from those records
    # must be the variants the campaign ran.
    records = [r for p in logs.log_paths(str(tmp_path)) for r in logs.read_log(p) if r["type"] == "example"]
    assert ["case" in r for r in records] == ([True] + [False] * 7) * 3
    assert cases[8:16] == differential.variants(cases[8], 8)


def test_a_case_the_oracle_cannot_trace_runs_only_a_few_variants(tmp_path):
    """tf_keras does not trace a stateful stack given initial_state: its variants run eagerly, at
    eager cost, so the driver stops after UNTRACEABLE_VARIANTS of them."""
    (spec,) = campaign.driver_specs(impl="reference", oracle="tf_keras", out=str(tmp_path), seed=1, shard=(1, 1),
                                    workers=1, max_examples=None, deadline=time.time() + 600, fail_fast=False,
                                    xfail=(), timeout_s=60, variants=64)
    loop = driver.Driver(spec)
    for worker in (loop.oracle, loop.impl):
        worker.start()
    try:
        untraceable = {"cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 3}], "cell_list": True,
                       "flags": {"stateful": True}, "initial_state": True, "seed": 3}
        traceable = dict(untraceable, flags={}, seed=4)
        loop.examine(untraceable)
        after_untraceable = loop.examples
        loop.examine(traceable)
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    # One fresh run, one failed traced reuse (judged again on a fresh layer), then the eager reuses.
    assert after_untraceable == 2 + driver.UNTRACEABLE_VARIANTS
    assert loop.examples - after_untraceable == 64
    assert loop.oracle.pending == loop.impl.pending == 0


def test_a_case_the_implementation_cannot_trace_runs_only_a_few_variants(tmp_path):
    """The same for the implementation: a structure whose compiled reuse raises is reused eagerly, and
    the driver stops after UNTRACEABLE_VARIANTS such variants; a traceable one runs them all."""
    (spec,) = campaign.driver_specs(impl="fuzz_targets.stacks_untraceable", oracle="reference", out=str(tmp_path),
                                    seed=1, shard=(1, 1), workers=1, max_examples=None, deadline=time.time() + 600,
                                    fail_fast=False, xfail=(), timeout_s=60, variants=64)
    loop = driver.Driver(spec)
    for worker in (loop.oracle, loop.impl):
        worker.start()
    try:
        stack = {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 3}], "cell_list": True, "seed": 3}
        loop.examine(stack)
        after_stack = loop.examples
        loop.examine({"cells": [{"kind": "gru", "units": 3}], "seed": 4})
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    # The fresh run, the failed compiled reuse (judged on a fresh layer instead), then the eager reuses.
    assert after_stack == 2 + driver.UNTRACEABLE_VARIANTS
    assert loop.examples - after_stack == 64
    assert loop.oracle.pending == loop.impl.pending == 0


def test_the_log_tail_tallies_passing_examples_per_clause_not_per_set_of_clauses(tmp_path):
    # Every example reaches another set of clauses (as in a long campaign, where new sets keep
    # appearing); the tally stays one entry per clause, and the results count each clause's checks.
    from rnnconf.engine.results import ALL_IDS, Results
    clauses = sorted(ALL_IDS)[:12]
    sets = [[c for bit, c in enumerate(clauses) if n >> bit & 1] for n in range(1, 400)]
    with open(tmp_path / "log-1-1-w1.jsonl", "w") as log:
        for n, reached in enumerate(sets):
            log.write(json.dumps({"type": "example", "n": n + 1, "case": {}, "clauses": reached, "ok": True,
                                  "unsupported": n % 10 == 0, "kind": None, "side": "implementation"}) + "\n")
    tail = logs.LogTail(str(tmp_path)).poll()
    assert tail.examples == len(sets) and len(tail.passed) <= 2 * len(clauses)
    data = logs.aggregate(str(tmp_path), Results("x", "y"), tail=tail)
    for clause in clauses:
        reached = [n for n, s in enumerate(sets) if clause in s]
        entry = data["clauses"][clause]
        assert entry["checks"] == len(reached) and entry["failures"] == 0
        assert entry["unsupported"] == sum(n % 10 == 0 for n in reached)


def test_a_target_with_fixed_weights_logs_variants_that_share_the_drawn_cases_weights(tmp_path):
    (spec,) = campaign.driver_specs(impl="reference", oracle="reference", out=str(tmp_path), seed=1, shard=(1, 1),
                                    workers=1, max_examples=None, deadline=time.time() + 600, fail_fast=False,
                                    xfail=(), timeout_s=60, variants=6, fixed_weights=True)
    loop = driver.Driver(spec)
    for worker in (loop.oracle, loop.impl):
        worker.start()
    try:
        loop.examine({"cells": [{"kind": "lstm", "units": 2}], "seed": 11})
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    cases = logged_cases(tmp_path)
    assert len(cases) == 6 and {c["weights_seed"] for c in cases} == {11}
    assert len({c["seed"] for c in cases}) == 6


def test_a_drawn_case_the_implementation_refuses_stops_after_two_variants(tmp_path):
    (spec,) = campaign.driver_specs(impl="fuzz_targets.refuses_masks", oracle="reference", out=str(tmp_path),
                                    seed=1, shard=(1, 1), workers=1, max_examples=None,
                                    deadline=time.time() + 600, fail_fast=False, xfail=(), timeout_s=60, variants=16)
    loop = driver.Driver(spec)
    for worker in (loop.oracle, loop.impl):
        worker.start()
    try:
        loop.examine({"cells": [{"kind": "lstm", "units": 2}], "mask": [[1, 1, 0, 0], [1, 1, 1, 1]], "seed": 3})
        refused = loop.examples
        loop.examine({"cells": [{"kind": "lstm", "units": 2}], "seed": 4})
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    assert refused == driver.REFUSED_VARIANTS == 2
    assert loop.examples - refused == 16
    assert loop.oracle.pending == loop.impl.pending == 0
    records = [r for p in logs.log_paths(str(tmp_path)) for r in logs.read_log(p) if r["type"] == "example"]
    assert [r["unsupported"] for r in records[:2]] == [True, True]
    assert records[0]["detail"] == "lacks masks are not supported"


def test_the_log_tail_keeps_unsupported_reasons_and_conversions(tmp_path):
    from rnnconf.engine.results import Results, merge_shards
    reasons = ["lacks stateful layers: the X model keeps no state"] * 3 + ["lacks X cannot convert: op Y"]
    with open(tmp_path / "log-1-1-w1.jsonl", "w") as log:
        for n, reason in enumerate(reasons):
            log.write(json.dumps({"type": "example", "n": n + 1, "case": {}, "clauses": ["FLAG-04"], "ok": True,
                                  "unsupported": True, "kind": None, "side": "implementation",
                                  "detail": reason}) + "\n")
        log.write(json.dumps({"type": "example", "n": 9, "case": {}, "clauses": ["FLAG-04"], "ok": True,
                              "unsupported": False, "kind": None, "side": "implementation", "converted": 1}) + "\n")
        for features in ({"time_major": 5}, {"time_major": 2, "constants": 1}):  # fuzz.refusals, per round
            log.write(json.dumps({"type": "skipped", "round": 1, "features": features}) + "\n")
    data = logs.aggregate(str(tmp_path), Results("x", "y"))
    assert data["skipped_refused"] == {"constants": 1, "time_major": 7}
    entry = data["clauses"]["FLAG-04"]
    assert entry["unsupported_reasons"] == {reasons[0]: 3, reasons[3]: 1}
    assert entry["unsupported"] == 4 and entry["checks"] == 5
    assert data["conversions"] == 1
    merged = merge_shards([data, data])
    assert merged["clauses"]["FLAG-04"]["unsupported_reasons"] == {reasons[0]: 6, reasons[3]: 2}
    assert merged["conversions"] == 2
    assert merged["skipped_refused"] == {"constants": 2, "time_major": 14}


def test_the_log_tail_tallies_margins_of_passing_examples_only(tmp_path):
    from rnnconf.engine.results import Results
    records = [({"float32": 0.0}, True), ({"float32": 0.02}, True), ({"float64": 0.5}, True),
               ({"float32": 0.9}, False)]
    with open(tmp_path / "log-1-1-w1.jsonl", "w") as log:
        for n, (margin, ok) in enumerate(records):
            log.write(json.dumps({"type": "example", "n": n + 1, "case": {}, "clauses": ["CALL-01"], "ok": ok,
                                  "unsupported": False, "kind": None if ok else "value", "side": "implementation",
                                  "margin": margin}) + "\n")
    data = logs.aggregate(str(tmp_path), Results("x", "y"))
    assert data["clauses"]["CALL-01"]["margin"] == {"float32": {"max": 0.02, "hist": {"exact": 1, "-2": 1}},
                                                    "float64": {"max": 0.5, "hist": {"-1": 1}}}


def test_a_drawn_case_the_implementation_raises_on_stops_once_the_error_is_known(tmp_path, monkeypatch):
    """An implementation raising where the oracle returns refuses the structure: once that discrepancy is
    known, a drawn case stops after REFUSED_VARIANTS such variants instead of building a layer for each."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "float32_only.py").write_text(
        "import numpy as np\n"
        "from rnnconf.impl import *  # noqa\n"
        "from rnnconf.impl import RNN as _RNN\n\n\n"
        "class RNN(_RNN):\n"
        "    def call(self, inputs, *args, **kwargs):\n"
        "        if np.asarray(inputs).dtype == np.float64:\n"
        "            raise TypeError('float64 inputs are not supported')\n"
        "        return super().call(inputs, *args, **kwargs)\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "pkg"), os.environ["PYTHONPATH"]]))
    (tmp_path / "run").mkdir()
    (spec,) = campaign.driver_specs(impl="float32_only", oracle="reference", out=str(tmp_path / "run"),
                                    seed=1, shard=(1, 1), workers=1, max_examples=None,
                                    deadline=time.time() + 600, fail_fast=False, xfail=(), timeout_s=60, variants=16)
    loop = driver.Driver(spec)
    loop.known = []
    for worker in (loop.oracle, loop.impl):
        worker.start()
    case = {"cells": [{"kind": "gru", "units": 2}], "dtype": "float64", "seed": 3}
    try:
        with pytest.raises(driver.Discrepancy) as found:  # new: Hypothesis would shrink it
            loop.examine(case)
        assert found.value.verdict["kind"] == "error" and loop.examples == 1
        loop.target = None
        fp = found.value.verdict["fingerprint"]  # recorded as a campaign records it: its essential feature only
        essential = dict(fp, features=[f for f in fp["features"] if f.startswith("dtype")])
        assert essential["features"] == ["dtype:float64"]
        loop.known = [{"fingerprint": essential, "signature": "float64-refused"}]
        loop.examine(dict(case, seed=4))
        assert loop.examples == 1 + driver.REFUSED_VARIANTS
        loop.examine(dict(case, dtype="float32", seed=5))
        assert loop.examples == 1 + driver.REFUSED_VARIANTS + 16
    finally:
        loop.oracle.stop()
        loop.impl.stop()
    assert loop.oracle.pending == loop.impl.pending == 0


def test_a_failure_that_shrinks_into_a_known_one_stops_there_and_is_not_shrunk_again(tmp_path):
    """One bug that several feature sets trigger: the first smaller case that is a known discrepancy
    ends the shrink, the occurrence names the original as an alias, and a failure with the original's
    features is known from then on (to this driver and, through the logs, to every other)."""
    (spec,) = campaign.driver_specs(impl="reference", oracle="reference", out=str(tmp_path), seed=1, shard=(1, 1),
                                    workers=1, max_examples=None, deadline=time.time() + 600, fail_fast=False,
                                    xfail=(), timeout_s=60)
    loop = driver.Driver(spec)
    # The cases here are stand-ins that cannot run: nothing hides behind the known one (what a case
    # still shows without a known one's features is tests/test_root_causes.py's).
    loop._hidden = lambda v, known: None
    core = "the implementation raises ValueError (Incompatible shapes for broadcasting:), the oracle nothing"

    def failure(features, size):
        fp = {"kind": "error", "core": core, "features": features}
        return {"kind": "error", "fingerprint": fp, "case": {"cells": [{"kind": "simple"}] * size}, "detail": ""}
    known = {"type": "discrepancy", "signature": "error | ... | cell:custom-minimal, mask, stack",
             "fingerprint": failure(["cell:custom-minimal", "mask", "stack"], 1)["fingerprint"]}
    loop.write(dict(known))
    loop.known = loop.known_reader.refresh()
    original = failure(["cell:custom-training", "cell:simple", "mask", "stack"], 4)
    assert loop._explained(original) is None  # not known as it is: it would be shrunk
    loop.target, loop.original, loop.best, loop.shrink_runs = original["fingerprint"], original, original, 0
    loop.shrink_started = time.time() - 2.5
    with pytest.raises(driver.Discrepancy):  # smaller, still unknown: Hypothesis shrinks on
        loop._judge(failure(["cell:custom-training", "mask", "stack"], 3), True, 0)
    with pytest.raises(driver.StopRound):
        loop._judge(failure(["cell:custom-minimal", "mask", "stack"], 2), True, 0)  # smaller, and known
    loop._record(loop.best)
    loop._log.close()
    records = logs.read_log(spec["log"])
    assert records[-1]["type"] == "occurrence" and records[-1]["signature"] == known["signature"]
    assert records[-1]["alias"] == original["fingerprint"] and records[-1]["shrink_s"] >= 2.5
    again = logs.KnownDiscrepancies(str(tmp_path)).refresh()
    assert [k["signature"] for k in again] == [known["signature"]] * 2
    loop.known = again
    assert loop._explained(failure(["cell:custom-training", "cell:simple", "flag:go_backwards", "mask", "stack"], 5))
    assert not loop._explained(failure(["cell:custom-training", "mask", "stack"], 3))


def test_cases_using_a_feature_the_implementation_always_refuses_are_mostly_skipped_and_counted(tmp_path):
    """fuzz.refusals through a campaign: once `go_backwards` was refused often enough, most drawn cases
    using it are not run; results.json and the report say how many, and its clause stays unsupported."""
    from rnnconf.fuzz import refusals
    assert check(tmp_path, "fuzz_targets.refuses_go_backwards", max_examples=400) == 0
    data = results(tmp_path)
    skipped = data["skipped_refused"]["go_backwards"]
    from rnnconf.engine.cases import layer_flags
    # go_backwards=False is not passed (its default), so only cases with it True use the feature.
    ran = [c for c in logged_cases(tmp_path) if "go_backwards" in layer_flags(c)]
    assert len(ran) >= refusals.LEARN_AFTER
    # Without skipping, about a quarter of the valid cases draw it True; most of those after learning are skipped.
    assert skipped > 2 * (len(ran) - refusals.LEARN_AFTER)
    assert data["clauses"]["FLAG-03"]["status"] == "unsupported"
    html = (tmp_path / "report.html").read_text()
    assert f"{skipped} using <code>go_backwards</code>" in html


def test_a_shorter_campaign_shrinks_each_discrepancy_for_a_share_of_its_time():
    def budget(seconds, **given):
        deadline = float("inf") if seconds is None else time.time() + seconds
        (spec,) = campaign.driver_specs(impl="reference", oracle="reference", out="x", seed=1, shard=(1, 1),
                                        workers=1, max_examples=None, deadline=deadline, fail_fast=False,
                                        xfail=(), timeout_s=60, **given)
        return spec["shrink_budget_s"]
    assert budget(None) == budgets.SHRINK_BUDGET_S == 60  # no deadline: the whole minute
    assert budget(3600) == 60
    assert 14 < budget(300) <= 15  # 5% of the fuzzing time
    assert budget(60) == budgets.SHRINK_BUDGET_MIN_S == 10
    assert budget(300, shrink_budget_s=45.0) == 45.0  # --shrink-budget
