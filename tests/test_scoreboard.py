"""`rnnconf scoreboard`: the page and scoreboard.json from synthetic results (no campaign), the CLI's
--from-results path with shards, a target that cannot run, and the shared example database's set-up."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis.database import (DirectoryBasedExampleDatabase, GitHubArtifactDatabase, MultiplexedDatabase,
                                 ReadOnlyDatabase)

from rnnconf.conformance.spec.clauses import ALL_IDS
from rnnconf.engine.results import Results
from rnnconf.fuzz import driver as drivers
from rnnconf.reports import render, scoreboard
from rnnconf import cli

try:
    from test_reports_support import Page, sample_results
except ImportError:  # tests/ became a package
    from tests.test_reports_support import Page, sample_results

ROOT = Path(__file__).resolve().parents[1]
TF = {"python": "3.11.7", "numpy": "2.4.6", "tensorflow": "2.21.0", "tf_keras": "2.21.0"}


def keras3():
    r = sample_results("keras3")
    r["versions"] = dict(TF, keras="3.15.1")
    r["stages"] = {"suite": 2.0, "fuzz": 10.0}
    r["suite"] = {"exit": 1, "tests": 9, "failed_tests": [{"test": "conformance/test_errors.py::test_err03",
                                                         "clauses": ["ERR-03"], "message": "E   raises"}]}
    return r


def keras3_jax():
    """A target whose environment has its own numpy and keras (merge_versions keys them by target)."""
    r = Results("keras3-jax", "tf_keras", seed=7,
                versions=dict(TF, keras="3.15.1", jax="0.10.2", **{"keras (keras3-jax)": "3.16.0",
                                                                     "numpy (keras3-jax)": "2.3.0"}))
    r.record(["CALL-01", "FLAG-03"])
    r.record(["FLAG-06"], unsupported=True)
    r.record(["MASK-01"], inconclusive=True)
    data = r.to_dict()
    data.update(examples=300, elapsed_s=40.0)
    return data


def cell(page, cid, column, columns):
    cells = page.with_class("td", "cell")
    return cells[ALL_IDS.index(cid) * columns + column]


@pytest.fixture
def board(tmp_path):
    out = tmp_path / "board"
    path = render.render_scoreboard([keras3(), keras3_jax(), {}], out, ["keras3", "keras3-jax", "keras3-numpy"],
                                    links={0: "keras3/report.html", 1: "keras3-jax/report.html"},
                                    errors={2: "unknown target 'keras3-numpy'"})
    return out, Page(path.read_text()), json.loads((out / "scoreboard.json").read_text())


def test_columns_are_named_implementation_at_version(board):
    _, page, data = board
    assert [a["data-impl"] for a in page.with_class("th", "impl")] == ["keras3", "keras3-jax", "keras3-numpy"]
    # keras3-jax's own keras (its environment's) names it, not the oracle environment's.
    assert [c["label"] for c in data["columns"]] == ["keras3@3.15.1", "keras3-jax@3.16.0", "keras3-numpy"]
    assert scoreboard.main_version({"implementation": "reference", "versions": {"rnnconf": "unversioned"}}) == \
        ("rnnconf", None)
    assert scoreboard.main_package("mypkg.rnn:layers") == "mypkg"
    assert scoreboard.main_package("tf_keras-2.17") == "tf_keras"
    # A converter is labelled by its converter's package, not by rnnconf's adapter module.
    assert scoreboard.main_package("onnx") == "tf2onnx" and scoreboard.main_package("openvino") == "openvino"


def test_a_converters_column_counts_its_conversions(tmp_path):
    onnx = dict(keras3_jax(), implementation="onnx", conversions=17, versions=dict(TF, tf2onnx="1.17.0"))
    path = render.render_scoreboard([onnx], tmp_path, ["onnx"])
    data = json.loads((tmp_path / "scoreboard.json").read_text())
    assert data["columns"][0]["label"] == "onnx@1.17.0" and data["columns"][0]["summary"]["conversions"] == 17
    assert "17 models converted" in Page(path.read_text()).text["summary-1"]


def test_cells_show_status_counts_and_link_to_the_targets_report(board):
    _, page, data = board
    assert len(page.with_class("tr", "clause")) == len(ALL_IDS)
    flag03 = cell(page, "FLAG-03", 0, 3)
    assert (flag03["data-status"], flag03["data-checks"], flag03["data-failures"]) == ("fail", "2", "1")
    assert cell(page, "CALL-01", 1, 3)["data-status"] == "pass"
    assert cell(page, "FLAG-06", 1, 3)["data-status"] == "unsupported"
    assert cell(page, "MASK-01", 1, 3)["data-status"] == "inconclusive"
    assert cell(page, "FLAG-05", 0, 3)["data-status"] == "oracle-deviation"
    assert cell(page, "STATE-01", 0, 3)["data-status"] == "untested"
    links = [a["href"] for t, a in page.tags if t == "a" and "href" in a]
    assert "keras3/report.html#clause-FLAG-03" in links and "keras3-jax/report.html#clause-MASK-01" in links
    assert data["columns"][0]["clauses"]["FLAG-03"] == {"status": "fail", "checks": 2, "failures": 1,
                                                        "unsupported": 0, "inconclusive": 0}
    assert data["columns"][0]["link"] == "keras3/report.html"


def test_a_target_that_did_not_run_is_a_column_saying_why(board):
    _, page, data = board
    assert {cell(page, cid, 2, 3)["data-status"] for cid in ALL_IDS} == {"did-not-run"}
    assert page.by_id["summary-3"]["data-ran"] == "no"
    assert "did not run: unknown target 'keras3-numpy'" in page.text["summary-3"]
    column = data["columns"][2]
    assert column["error"] == "unknown target 'keras3-numpy'" and column["clauses"] == {}
    assert column["link"] is None


def test_summary_row_per_target(board):
    _, page, data = board
    summary = data["columns"][0]["summary"]
    assert summary["statuses"]["fail"] == 3 and summary["statuses"]["pass"] == 2
    assert (summary["discrepancies"], summary["suite_failures"], summary["examples"]) == (2, 1, 40)
    assert summary["examples_per_s"] == 4.0, "examples over the fuzzing stage's seconds"
    assert data["columns"][1]["summary"]["examples_per_s"] == 7.5, "over the run's seconds without stages"
    assert "3 failing clauses" in page.text["summary-1"]
    row = page.text["summary-2"].split()
    assert row[:2] == ["keras3-jax@3.16.0", "tf_keras"]


def test_environments_list_every_version_of_each_column(board):
    _, page, data = board
    text = page.text["environments"]
    for needle in ("numpy (keras3-jax)", "2.3.0", "jax", "0.10.2", "tf_keras", "2.21.0"):
        assert needle in text
    assert data["columns"][1]["versions"]["keras (keras3-jax)"] == "3.16.0"
    assert "changes" not in page.by_id and "changes" not in data


def test_changes_since_a_previous_scoreboard_use_the_diff_of_two_runs(board, tmp_path):
    out, _, previous = board
    before = previous["columns"][0]
    before["clauses"]["CALL-01"]["status"] = "fail"       # fixed since
    before["clauses"]["ERR-03"]["status"] = "pass"        # newly failing
    before["versions"]["keras"] = "3.14.0"
    previous["columns"] = previous["columns"][:1]         # keras3-jax is new
    later = render.render_scoreboard([keras3(), keras3_jax(), {}], tmp_path / "later",
                                     ["keras3", "keras3-jax", "keras3-numpy"], errors={2: "no"}, previous=previous)
    page = Page(later.read_text())
    changes = json.loads((tmp_path / "later" / "scoreboard.json").read_text())["changes"]
    assert [r["id"] for r in changes["keras3"]["new_failures"]["clauses"]] == ["ERR-03"]
    assert [r["id"] for r in changes["keras3"]["fixed"]["clauses"]] == ["CALL-01"]
    assert changes["keras3"]["versions_changed"]["keras"] == {"old": "3.14.0", "new": "3.15.1"}
    assert changes["keras3-jax"]["status"] == "new" and changes["keras3-numpy"]["status"] == "did not run"
    assert "Newly failing clauses: ERR-03" in page.text["changes-1"]
    assert "Fixed clauses: CALL-01" in page.text["changes-1"]
    assert "3.14.0" in page.text["changes-1"]
    assert page.by_id["changes-2"]["data-change"] == "new"


def test_the_page_is_self_contained_and_escaped(tmp_path):
    evil = keras3()
    evil["versions"]["<script>x</script>"] = "1"
    html = render.render_scoreboard([evil], tmp_path, ["keras3"], errors={}).read_text()
    assert "<script>x</script>" not in html and "&lt;script&gt;x" in html
    for external in ('src="http', "href=\"http", "@import", "<link"):
        assert external not in html


def write_run(directory, results):
    directory.mkdir(parents=True)
    (directory / "results.json").write_text(json.dumps(results))
    return directory / "results.json"


def test_cli_from_results_merges_shards_per_implementation(tmp_path, capsys):
    one, two = Results("keras3", "tf_keras", seed=1, versions=TF), Results("keras3", "tf_keras", seed=1, versions=TF)
    one.record(["CALL-01"])
    two.record(["CALL-01"])
    two.record(["FLAG-03"], ok=False)
    ref = Results("reference", "tf_keras", versions=dict(TF, impl="unversioned"))
    ref.record(["CALL-01"])
    paths = [write_run(tmp_path / "keras3-1", one.to_dict()), write_run(tmp_path / "reference-1", ref.to_dict()),
             write_run(tmp_path / "keras3-2", two.to_dict())]
    out = tmp_path / "board"
    assert cli.main(["scoreboard", "--from-results", *map(str, paths), "--out", str(out)]) == 0, \
        "the scoreboard reports, it does not gate"
    data = json.loads((out / "scoreboard.json").read_text())
    assert [c["name"] for c in data["columns"]] == ["keras3", "reference"]
    merged = data["columns"][0]
    assert merged["clauses"]["CALL-01"]["checks"] == 2 and merged["clauses"]["FLAG-03"]["status"] == "fail"
    assert merged["shards"] == 2
    assert merged["link"] == "keras3/report.html" and (out / "keras3" / "report.html").exists()
    assert (out / "reference" / "results.json").exists()
    page = Page((out / "index.html").read_text())
    assert cell(page, "FLAG-03", 0, 2)["data-status"] == "fail"
    # The same runs again, against the first scoreboard: nothing changed.
    again = tmp_path / "again"
    assert cli.main(["scoreboard", "--from-results", *map(str, paths), "--out", str(again),
                     "--previous", str(out / "scoreboard.json")]) == 0
    changes = json.loads((again / "scoreboard.json").read_text())["changes"]
    assert changes["keras3"]["new_failures"]["clauses"] == [] and changes["keras3"]["status"] == "compared"


def test_cli_usage_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli.main(["scoreboard", "--from-results", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert cli.main(["scoreboard", "--impl", "reference", "--from-results", str(bad), "--out", "o"]) == 2
    assert cli.main(["scoreboard", "--impl", "reference", "--previous", str(bad), "--out", "o"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "bad.json" in err[0] and "--previous" in err[2]


def test_cli_a_target_that_cannot_run_exits_2_and_still_writes_the_page(tmp_path):
    out = tmp_path / "board"
    proc = subprocess.run([sys.executable, "-m", "rnnconf.cli", "scoreboard", "--impl", "no-such-target",
                           "--budget", "30", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "rnnconf: scoreboard: [1/1] no-such-target: exit 2 (did not run)" in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rnnconf: scoreboard: no-such-target did not run: unknown target 'no-such-target'")
    page = Page((out / "index.html").read_text())
    assert page.by_id["summary-1"]["data-ran"] == "no"
    assert "unknown target" in json.loads((out / "scoreboard.json").read_text())["columns"][0]["error"]
    assert "unknown target" in (out / "no-such-target" / "check.log").read_text()


# ---- the shared example database -----------------------------------------------------------------------
def test_github_shared_database_is_read_only_and_multiplexed_with_the_local_one(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the database must not touch the network when it is built")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    shared = drivers.shared_database("github:octo/rnn-ci/hypothesis-example-db-keras3", "keras3")
    assert isinstance(shared, ReadOnlyDatabase)
    assert shared._wrapped == GitHubArtifactDatabase("octo", "rnn-ci", "hypothesis-example-db-keras3")
    db = drivers.RoundDatabase(tmp_path / "local", shared)
    assert isinstance(db.inner, MultiplexedDatabase)
    assert isinstance(db.local, DirectoryBasedExampleDatabase)
    # A round that did not finish shrinking still forgets what it saved locally.
    db.start_round()
    db.save(b"key", b"half-shrunk")
    assert list(db.local.fetch(b"key")) == [b"half-shrunk"]
    db.forget_round()
    assert list(db.local.fetch(b"key")) == []
    assert drivers.shared_database("", "keras3") is None and drivers.shared_database(None, "keras3") is None
    assert isinstance(drivers.shared_database("github:octo/rnn-ci", "x")._wrapped, GitHubArtifactDatabase)


@pytest.mark.parametrize("spec, words", [
    ("s3://bucket", "unknown database; expected github:OWNER/REPO or redis://HOST:PORT"),
    ("github:octo", "expected github:OWNER/REPO[/ARTIFACT]"),
    ("github:octo//x", "expected github:OWNER/REPO[/ARTIFACT]"),
])
def test_an_unusable_shared_database_is_one_line(spec, words):
    with pytest.raises(drivers.SharedDatabaseError) as e:
        drivers.shared_database(spec, "keras3")
    assert str(e.value) == f"RNNCONF_SHARED_DB={spec}: {words}"


def test_redis_needs_its_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # as if not installed
    with pytest.raises(drivers.SharedDatabaseError, match=r"^RNNCONF_SHARED_DB=redis://h:6379: the `redis` "
                                                          r"package is not installed \(pip install redis\)$"):
        drivers.shared_database("redis://h:6379", "keras3")


def test_a_driver_reports_an_unusable_shared_database_as_a_setup_error(tmp_path, monkeypatch):
    from rnnconf.fuzz import campaign, logs
    monkeypatch.setenv(drivers.SHARED_DB_ENV, "nope:x")
    spec = campaign.driver_specs(impl="reference", oracle="tf_keras", out=str(tmp_path), seed=1, shard=(1, 1),
                                 workers=1, max_examples=1, deadline=0, fail_fast=False, xfail=[], timeout_s=5)[0]
    drivers.Driver(spec).run()
    tail = logs.LogTail(str(tmp_path))
    tail.poll([])
    assert tail.setup_errors == ["RNNCONF_SHARED_DB=nope:x: unknown database; expected github:OWNER/REPO or "
                                 "redis://HOST:PORT"]
