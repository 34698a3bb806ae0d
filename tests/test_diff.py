"""Run diffs for CI: reports.diff on hand-built results, `rnnconf check --baseline` and `rnnconf report --diff`."""
import json
import os
from pathlib import Path

import pytest

from rnnconf.reports import diff
from rnnconf import cli

TESTS = Path(__file__).parent


def _results(clauses=None, discrepancies=(), failed_tests=(), versions=None):
    return {"implementation": "x", "oracle": "reference", "versions": versions or {"numpy": "2.0"},
            "examples": 10, "clauses": {cid: {"status": s, "checks": 1, "failures": int(s == "fail")}
                                        for cid, s in (clauses or {}).items()},
            "discrepancies": list(discrepancies),
            "suite": {"exit": 1 if failed_tests else 0, "tests": 5,
                      "failed_tests": [{"test": t, "clauses": ["FLAG-03"], "message": "m"} for t in failed_tests]}}


def _d(id, kind="value", clauses=("FLAG-03",), signature=None, xfail=False):
    item = {"id": id, "kind": kind, "clauses": list(clauses), "detail": "differs", "xfail": xfail}
    if signature:
        item["signature"] = signature
    return item


def test_clause_status_changes_are_sorted_into_new_fixed_and_still_failing():
    """A clause failing only now is new, failing before and judged now is fixed, failing in both still
    fails; one failing before and untested or absent now is none of them."""
    old = _results({"FLAG-01": "fail", "FLAG-02": "fail", "FLAG-03": "pass", "FLAG-04": "fail", "FLAG-05": "fail"})
    new = _results({"FLAG-01": "fail", "FLAG-02": "pass", "FLAG-03": "fail", "FLAG-04": "untested"})
    result = diff.diff(old, new)
    assert [c["id"] for c in result["new_failures"]["clauses"]] == ["FLAG-03"]
    assert result["fixed"]["clauses"] == [{"id": "FLAG-02", "old": "fail", "new": "pass"}]
    assert [c["id"] for c in result["still_failing"]["clauses"]] == ["FLAG-01"]


def test_discrepancies_match_by_signature_when_both_have_one():
    """Equal signatures are the same failure whatever the clauses; different signatures are not."""
    old = _results(discrepancies=[_d("d-0001", clauses=("FLAG-03",), signature="value | output | a"),
                                  _d("d-0002", signature="value | state | b")])
    new = _results(discrepancies=[_d("d-0009", clauses=("FLAG-03", "MASK-01"), signature="value | output | a"),
                                  _d("d-0010", signature="value | state | c")])
    result = diff.diff(old, new)
    assert [d["id"] for d in result["still_failing"]["discrepancies"]] == ["d-0009"]
    assert [d["id"] for d in result["new_failures"]["discrepancies"]] == ["d-0010"]
    assert [d["id"] for d in result["fixed"]["discrepancies"]] == ["d-0002"]


def test_discrepancies_without_signature_match_by_kind_and_sorted_clauses():
    """An older run without signatures is matched by kind and the sorted clause list."""
    old = _results(discrepancies=[_d("d-0001", clauses=("MASK-01", "FLAG-03"))])
    new = _results(discrepancies=[_d("d-0001", clauses=("FLAG-03", "MASK-01"), signature="value | x | "),
                                  _d("d-0002", kind="shape", clauses=("FLAG-03", "MASK-01"))])
    result = diff.diff(old, new)
    assert [d["id"] for d in result["still_failing"]["discrepancies"]] == ["d-0001"]
    assert [d["kind"] for d in result["new_failures"]["discrepancies"]] == ["shape"]
    assert result["fixed"]["discrepancies"] == []


def test_suite_tests_match_by_id_and_versions_changed_lists_both_values():
    """Suite failures are compared by test id; every version that differs is listed old and new."""
    old = _results(failed_tests=["t::a", "t::b"], versions={"numpy": "2.0", "keras": "3.1"})
    new = _results(failed_tests=["t::b", "t::c"], versions={"numpy": "2.0", "keras": "3.2", "jax": "0.4"})
    result = diff.diff(old, new)
    assert [t["test"] for t in result["new_failures"]["suite_tests"]] == ["t::c"]
    assert [t["test"] for t in result["fixed"]["suite_tests"]] == ["t::a"]
    assert [t["test"] for t in result["still_failing"]["suite_tests"]] == ["t::b"]
    assert result["versions_changed"] == {"keras": {"old": "3.1", "new": "3.2"}, "jax": {"old": None, "new": "0.4"}}


def test_gating_ignores_xfail_discrepancies_and_clauses_they_alone_explain():
    """A new xfail discrepancy, and a clause newly failing only through it, do not gate CI."""
    old = _results({"FLAG-03": "pass"})
    new = _results({"FLAG-03": "fail"}, discrepancies=[_d("d-0001", xfail=True)])
    result = diff.diff(old, new)
    assert diff.count(diff.gating(result)) == 0
    new["discrepancies"][0]["xfail"] = False
    assert diff.count(diff.gating(diff.diff(old, new))) == 2
    assert "2 new failure(s)" in diff.summary(diff.diff(old, new))


def test_identical_runs_have_nothing_new():
    """A run diffed against itself has no new failures and no fixes."""
    run = _results({"FLAG-03": "fail"}, discrepancies=[_d("d-0001")], failed_tests=["t::a"])
    result = diff.diff(run, run)
    assert diff.count(result["new_failures"]) == 0 and diff.count(result["fixed"]) == 0
    assert diff.count(result["still_failing"]) == 3


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


def test_report_diff_writes_diff_json_and_section_and_gates(tmp_path, capsys):
    """`rnnconf report --diff OLD NEW` writes diff.json and a report section; exit 1 on new, 0 otherwise, 2 unreadable."""
    old = _write(tmp_path / "old.json", _results({"FLAG-03": "pass"}))
    new = _write(tmp_path / "new.json", _results({"FLAG-03": "fail"}, discrepancies=[_d("d-0001")]))
    assert cli.main(["report", "--diff", old, new, "--out", str(tmp_path / "out")]) == 1
    changes = json.loads((tmp_path / "out" / "diff.json").read_text())
    assert [c["id"] for c in changes["new_failures"]["clauses"]] == ["FLAG-03"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="changes"' in html and "Newly failing" in html
    assert "1 discrepancy(ies)" in capsys.readouterr().err
    assert cli.main(["report", "--diff", new, new, "--out", str(tmp_path / "same")]) == 0
    assert cli.main(["report", "--diff", str(tmp_path / "missing.json"), new, "--out", str(tmp_path / "x")]) == 2


@pytest.fixture
def _importable_targets(monkeypatch):
    # Spawned drivers and workers import `fuzz_targets.*` from tests/.
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def check(out, target, *extra):
    return cli.main(["check", "--impl", f"fuzz_targets.{target}", "--oracle", "reference", "--out", str(out),
                     "--skip-suite", "--workers", "1", "--no-progress", "--seed", "1", "--max-examples", "100",
                     "--variants", "1", "--fail-fast", *extra])


def test_check_with_baseline_exits_0_on_old_failures_and_1_on_new(tmp_path, _importable_targets, capsys):
    """With --baseline, a failure the baseline has exits 0; a failure it lacks exits 1; diff.json is written."""
    assert check(tmp_path / "old", "backwards_not_reversed") == 1
    baseline = str(tmp_path / "old" / "results.json")
    assert check(tmp_path / "again", "backwards_not_reversed", "--baseline", baseline) == 0
    changes = json.loads((tmp_path / "again" / "diff.json").read_text())
    assert diff.count(changes["new_failures"]) == 0 and changes["still_failing"]["discrepancies"]
    assert 'id="changes"' in (tmp_path / "again" / "report.html").read_text()
    assert check(tmp_path / "other", "mask_ignored", "--baseline", baseline) == 1
    changes = json.loads((tmp_path / "other" / "diff.json").read_text())
    assert changes["gating"]["discrepancies"]
    assert "new failure(s) against the baseline" in capsys.readouterr().err


def test_check_with_unreadable_baseline_is_a_usage_error(tmp_path, capsys):
    """An unreadable --baseline exits 2 with one line, before anything runs."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    status = cli.main(["check", "--impl", "reference", "--oracle", "reference", "--out", str(tmp_path / "o"),
                       "--skip-suite", "--max-examples", "1", "--baseline", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "cannot read --baseline" in err[0]
