"""`rnnconf check`'s stages: the suite runs to completion or the run fails with one line (exit 2),
a suite failure ends a --fail-fast run at once, stages run side by side where cores allow, and each
stage's time is printed."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rnnconf.conformance.spec.clauses import ALL_IDS
from rnnconf import cli, suite

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _importable_targets(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture
def err_xfail(tmp_path):
    # The error-path tests pin the oracle's own messages (tf_keras'): with the reference as oracle they fail.
    path = tmp_path / "err.txt"
    path.write_text("\n".join(c for c in ALL_IDS if c.startswith("ERR-")) + "\n")
    return str(path)


def check(out, *extra, impl="reference", oracle="reference"):
    return cli.main(["check", "--impl", impl, "--oracle", oracle, "--out", str(out), "--no-progress",
                     "--seed", "1", *extra])


def test_a_suite_that_cannot_finish_in_the_budget_fails_the_run(tmp_path, capsys):
    status = check(tmp_path, "--budget", "12", "--workers", "1")
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("rnnconf: incomplete: the conformance suite did not finish within"), err[-1]
    assert not (tmp_path / "results.json").exists() or json.loads((tmp_path / "results.json").read_text())


@pytest.mark.parametrize("code, words", [(5, "collected no tests"), (3, r"did not complete \(pytest exit 3\)")])
def test_a_suite_that_collects_nothing_or_crashes_fails_the_run(tmp_path, monkeypatch, code, words):
    class Exited:
        returncode = code

        def __init__(self, *args, **kwargs):
            Path(kwargs["stdout"].name).write_text("pytest said something\n")

        def poll(self):
            return code

    monkeypatch.setattr(subprocess, "Popen", Exited)
    args = cli._parser().parse_args(["check", "--impl", "reference"])
    with pytest.raises(cli.Incomplete, match=words):
        suite.run_suite(args, str(tmp_path), timeout_s=60)


@pytest.mark.parametrize("workers", ["1", "2"])  # 2: pytest-xdist, whose -x stop is an "interrupted" exit
def test_a_suite_failure_ends_a_fail_fast_run_before_fuzzing(tmp_path, capsys, workers):
    status = check(tmp_path, "--fail-fast", "--budget", "300", "--workers", workers,
                   impl="fuzz_targets.backwards_not_reversed", oracle="tf_keras")
    err = capsys.readouterr().err
    data = json.loads((tmp_path / "results.json").read_text())
    assert status == 1
    assert data["suite"]["failed_tests"] and "fuzz" not in data["stages"]
    assert "stage fuzz: skipped" in err and "stage suite (full):" in err
    assert 0 < data["time_to_first_discrepancy_s"] < data["elapsed_s"]
    assert any(data["clauses"][c]["status"] == "fail" for c in ("FLAG-03", "FLAG-01"))


def test_stages_run_side_by_side_on_four_cores(tmp_path, monkeypatch, capsys, err_xfail):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    # A budget that a loaded machine's suite fits in; the quick suite asked for by name.
    status = check(tmp_path, "--budget", "600", "--suite", "quick", "--max-examples", "30", "--workers", "2",
                   "--xfail", err_xfail)
    err = capsys.readouterr().err
    data = json.loads((tmp_path / "results.json").read_text())
    assert status == 0, err[-2000:]
    assert "with 1 worker(s)" in err and "-n" not in err.split("conformance suite:", 1)[1].splitlines()[0]
    assert data["examples"] == 30 and data["suite"]["mode"] == "quick" and data["suite"]["tests"] > 150
    assert set(data["stages"]) == {"suite", "fuzz"}
    margins = {cid: c["margin"] for cid, c in data["clauses"].items() if "margin" in c}
    assert margins and all(set(e["hist"]) == {"exact"} for m in margins.values() for e in m.values()), \
        "the reference against itself: equal values"
    counted = sum(n for e in margins["CALL-01"].values() for n in e["hist"].values())
    assert counted > data["examples"], "the suite's passing comparisons count too, not the fuzzer's alone"
    progress = data["progress"]  # [elapsed s, examples, clauses reached, discrepancies], growing
    assert progress[-1][1] == 30 and progress[-1][2] == sum(c["status"] != "untested" for c in data["clauses"].values())
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(progress, progress[1:]))


def test_the_quick_suite_checks_every_clause(tmp_path):
    """--first-of-each (what `rnnconf check` runs under --budget 300) keeps the first example of each
    test function per set of clauses, and so still checks every clause of the contract."""
    listed = tmp_path / "clauses.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--first-of-each", "--collect-only",
                           "-q", "-p", "no:cacheprovider", "--list-clauses", str(listed)],
                          cwd=TESTS.parent, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    collected, total = (int(n) for n in re.search(r"(\d+)/(\d+) tests collected", proc.stdout).groups())
    assert collected < total / 2
    assert json.loads(listed.read_text()) == sorted(ALL_IDS)
