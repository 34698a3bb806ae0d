"""The statuses of judge.NOT_FAILING (oracle-deviation, lenient) from the judge to every output: the
suite's clause report, the fuzzer's log, results.json (counts per clause, examples), the report, the
scoreboard, JUnit and `rnnconf check`'s exit status. None of them is a failure anywhere."""
from rnnconf.engine import judge
from rnnconf.engine.results import Results, merge_shards
from rnnconf.fuzz import differential
from rnnconf.fuzz.logs import LogTail, example_record
from rnnconf.reports import junit, model, render, scoreboard
from rnnconf import check, cli

CASE = {"cells": [{"kind": "simple", "units": 2}], "flags": {"unroll": True, "zero_output_for_mask": True},
        "mask": [[1, 1, 0], [1, 0, 0]], "timesteps": 3}


def suite_report():
    """A clause report as conformance/conftest.py writes it: one lenient test, one oracle-deviation test."""
    clauses = {"ERR-25": {"checks": 1, "failures": 0, "unsupported": 0, "inconclusive": 0, "lenient": 1},
               "FLAG-05": {"checks": 3, "failures": 0, "unsupported": 0, "inconclusive": 0, "oracle-deviation": 1},
               "CALL-01": {"checks": 2, "failures": 0, "unsupported": 0, "inconclusive": 0}}
    tests = [{"test": "conformance/test_errors.py::test_error_direct[ERR-25-direct-1]", "clauses": ["ERR-25"],
              "status": "lenient", "detail": "accepts ERR-25"},
             {"test": "conformance/test_flags.py::test_unroll[x]", "clauses": ["FLAG-05"],
              "status": "oracle-deviation", "detail": "DEV-unroll-zero-mask-last-output: matches the page"}]
    return {"clauses": clauses, "failed_tests": [], "not_failing_tests": tests, "exit": 0}


def campaign_log(tmp_path):
    """A driver log with one fuzzer example judged oracle-deviation."""
    v = differential.verdict(CASE, ["CALL-01", "CALL-02", "FLAG-05", "FLAG-07", "MASK-01", "SHAPE-04"],
                             detail="DEV-unroll-zero-mask-last-output: ...", named="oracle-deviation",
                             why="DEV-unroll-zero-mask-last-output")
    assert v["named_clauses"] == ["FLAG-05", "FLAG-07"]  # the deviation's clauses, not every one reached
    assert v["ok"] and v["kind"] is None  # not a discrepancy: the driver raises nothing for Hypothesis
    import json
    (tmp_path / "log-1-1-w1.jsonl").write_text(json.dumps(dict(example_record(v, 1, 0, 1), type="example")) + "\n")
    return LogTail(str(tmp_path))


def results(tmp_path):
    r = Results("wrapper", "tf_keras")
    r.merge_suite(suite_report())
    return r.merge_fuzz(campaign_log(tmp_path).poll())


def test_results_count_them_per_clause_and_never_as_failures(tmp_path):
    data = results(tmp_path)
    clauses = data["clauses"]
    assert clauses["ERR-25"]["status"] == "lenient" and clauses["ERR-25"]["lenient"] == 1
    assert clauses["FLAG-05"]["status"] == "oracle-deviation" and clauses["FLAG-05"]["oracle-deviation"] == 2
    assert clauses["FLAG-07"]["oracle-deviation"] == 1
    assert clauses["CALL-01"]["status"] == "pass" and "lenient" not in clauses["CALL-01"]
    assert all(c["failures"] == 0 for c in clauses.values())
    assert data["not_failing"]["lenient"]["checks"] == 1
    assert data["not_failing"]["oracle-deviation"]["checks"] == 2
    assert data["not_failing"]["oracle-deviation"]["examples"][1]["why"] == "DEV-unroll-zero-mask-last-output"
    merged = merge_shards([data, data])
    assert merged["clauses"]["ERR-25"]["lenient"] == 2 and merged["clauses"]["ERR-25"]["status"] == "lenient"
    assert merged["not_failing"]["oracle-deviation"]["checks"] == 4


def test_the_exit_status_the_report_junit_and_the_scoreboard_do_not_fail_them(tmp_path):
    data = results(tmp_path)
    assert check._exit_status(data, suite_report(), xfail=set(), examples=1, elapsed=1.0) == cli.OK
    assert model.verdict(data)[0] == "pass"
    html = render.render_report(data, tmp_path).read_text()
    assert 'id="not-failing"' in html and "s-lenient" in html and 'data-status="lenient"' in html
    tree = junit.junit_tree(data)
    clause = next(c for c in tree.iter("testcase") if c.get("name") == "ERR-25")
    assert clause.find("failure") is None and "lenient" in clause.find("system-out").text
    assert tree.getroot().get("failures") == "0"
    column = scoreboard.column(data)
    assert column["clauses"]["ERR-25"] == {"status": "lenient", "checks": 1, "failures": 0, "unsupported": 0,
                                           "inconclusive": 0, "lenient": 1}
    assert column["summary"]["statuses"]["lenient"] == 1
    board = render.render_scoreboard([data], tmp_path / "board", ["wrapper"]).read_text()
    assert 'data-status="lenient"' in board


def test_one_tuple_names_them_all():
    assert judge.NOT_FAILING == ("oracle-deviation", "lenient", "differs-by-design")
    assert set(judge.NOT_FAILING) <= set(model.STATUSES)
    assert set(judge.NOT_FAILING) <= set(junit.NOT_FAILING_WORDS)
