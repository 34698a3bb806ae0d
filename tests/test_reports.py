"""reports/: the HTML report, junit.xml, shard merging, the comparison view and `rnnconf report`.

Structure is checked through element ids and attributes (never whitespace snapshots); inputs are
built with conformance.results.Results, so they have the real results.json shape.
"""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from conformance.clauses import ALL_IDS, GROUPS
from conformance.deviations import DEVIATIONS
from conformance.results import Results
from reports import render

try:
    from test_reports_support import EVIL, REPRO_FILE_CODE, VALUE_CASE, Page, sample_results
except ImportError:  # tests/ became a package
    from tests.test_reports_support import EVIL, REPRO_FILE_CODE, VALUE_CASE, Page, sample_results


def rendered(results, out_dir, repro_files=None):
    for rel, code in (repro_files or {}).items():
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_text(code)
    html = render.render_report(results, out_dir).read_text()
    return html, Page(html)


@pytest.fixture
def report(tmp_path):
    results = sample_results()
    html, page = rendered(results, tmp_path, {"repro/d-0001.py": REPRO_FILE_CODE})
    return results, html, page


def test_every_clause_has_a_row_with_its_status(report):
    results, _, page = report
    for cid in ALL_IDS:
        assert page.by_id[f"clause-{cid}"]["data-status"] == results["clauses"][cid]["status"], cid
    expected = {"CALL-01": "pass", "FLAG-03": "fail", "MASK-01": "fail", "ERR-03": "fail",
                "FLAG-06": "unsupported", "FLAG-05": "oracle-deviation", "CELL-02": "untested"}
    assert {cid: page.by_id[f"clause-{cid}"]["data-status"] for cid in expected} == expected
    assert len(page.with_class("tr", "clause")) == len(ALL_IDS) == 88


def test_rows_follow_the_clause_groups_and_show_counts(report):
    _, _, page = report
    row_ids = [a["id"] for a in page.with_class("tr", "clause")]
    assert row_ids == [f"clause-{cid}" for g in GROUPS.values() for cid in g["ids"]]
    for key in GROUPS:
        assert f"group-{key}" in page.by_id
    cells = page.text["clause-FLAG-03"].split()
    assert cells[-3:] == ["2", "1", "d-0001"], "checks, failures, link to the discrepancy"


def test_header_states_the_run_and_its_verdict(report):
    _, _, page = report
    summary = page.text["summary"]
    for fact in ("keras3", "tf_keras", "40", "12.5 s", "numpy 2.1", "tf_keras 2.21"):
        assert fact in summary, fact
    assert "seed" in summary and "7" in summary
    assert page.text["verdict"].strip() == "2 discrepancies"
    assert "incomplete" not in page.by_id


def test_unsupported_clauses_are_marked(report):
    _, _, page = report
    assert "FLAG-06" in page.text["unsupported-note"]
    assert "unsupported" in page.text["clause-FLAG-06"]


def test_discrepancy_sections_show_config_values_and_reproducer(report, tmp_path):
    _, _, page = report
    first = page.text["d-0001"]
    assert "value" in first and "max abs diff 0.41 at output[1][2]" in first
    assert json.loads(page.text["config-d-0001"]) == VALUE_CASE, "the shrunk config as JSON"
    assert "0.41" in first and "0.2" in first and "[1, 2]" in first, "max abs / rel error and index"
    assert "0.5" in first and "0.91" in first, "expected and actual values side by side"
    # The reproducer comes from the file when it exists, else from the inline code.
    assert page.text["code-d-0001"] == REPRO_FILE_CODE
    assert page.text["code-d-0002"] == "print('raises')\n"
    assert "ValueError: bad cell raises" in page.text["d-0002"] and "no error" in page.text["d-0002"]
    buttons = {b["data-target"] for b in page.with_class("button", "copy")}
    assert {"code-d-0001", "code-d-0002"} <= buttons
    assert "navigator.clipboard" in report[1] and "execCommand" in report[1]


def test_oracle_deviations_have_their_own_section_with_evidence(report):
    _, _, page = report
    assert "deviations" in page.by_id
    for dev in DEVIATIONS:
        assert page.text[f"code-{dev['id']}"] == dev["repro"]
        assert all(c in page.text[dev["id"]] for c in dev["clauses"])
    assert "DEV-unroll-backwards-zero-mask" in page.text["clause-FLAG-05"]


def test_report_is_self_contained(report):
    _, html, page = report
    assert not [a for t, a in page.tags if "src" in a or (t == "link" and "href" in a)]
    assert not re.search(r"""(?:href|src)=["']?(?:https?:)?//""", html)
    assert [t for t, _ in page.tags].count("script") == 1
    assert [t for t, _ in page.tags].count("style") == 1


def test_plots_are_inline_svg(report):
    _, _, page = report
    assert "plot-checks" in page.by_id and "plot-errors" in page.by_id
    checks_plot = page.text["plot-checks"]
    assert all(key in checks_plot for key in GROUPS)
    assert "MASK-01 float32" in page.text["plot-errors"], "the discrepancy's max_abs, per clause and dtype"


def test_error_plot_uses_clause_magnitudes_per_dtype(tmp_path):
    results = Results("reference", "tf_keras").to_dict()
    results["clauses"]["CALL-01"]["max_abs_error"] = {"float32": 2e-7, "float64": 3e-16}
    _, page = rendered(results, tmp_path)
    text = page.text["plot-errors"]
    assert "CALL-01 float32: 2e-07" in text and "CALL-01 float64: 3e-16" in text


def test_everything_from_the_run_is_escaped(tmp_path):
    results = sample_results(impl=EVIL, evil=True)
    results["versions"][EVIL] = EVIL
    results["clauses"]["CALL-01"]["max_abs_error"] = {EVIL: 1e-3}
    html, page = rendered(results, tmp_path)
    assert EVIL not in html
    assert "&lt;script&gt;" in html
    assert [t for t, _ in page.tags].count("script") == 1, "only the report's own script"
    assert EVIL in page.text["code-d-0002"] and EVIL in page.text["d-0002"], "shown as text"
    assert EVIL in page.text["summary"]


def test_empty_results_render_every_clause_untested(tmp_path):
    html, page = rendered({}, tmp_path)
    assert len(page.with_class("tr", "clause")) == 88
    assert {a["data-status"] for a in page.with_class("tr", "clause")} == {"untested"}
    assert page.text["verdict"].strip() == "no checks recorded"
    assert "clauses" in page.text["incomplete"]
    assert "no-discrepancies" in page.by_id and "no-error-plot" in page.by_id


def test_partial_results_of_a_killed_run_render(tmp_path):
    partial = {"implementation": "keras3", "examples": 0,
               "clauses": {"CALL-01": {"checks": 3, "failures": 0}, "FLAG-06": {"checks": 2, "failures": 2}},
               "discrepancies": [{"id": "d-0001", "kind": "crash"}], "deviations": [{"id": "DEV-x"}]}
    _, page = rendered(partial, tmp_path)
    # Missing statuses come from Results' rules, not from the renderer.
    assert page.by_id["clause-CALL-01"]["data-status"] == "pass"
    assert page.by_id["clause-FLAG-06"]["data-status"] == "fail"
    assert page.by_id["clause-CELL-01"]["data-status"] == "untested"
    assert "d-0001" in page.by_id and "DEV-x" in page.by_id
    missing = page.text["incomplete"]
    assert "elapsed_s" in missing and "oracle" in missing and "implementation" not in missing


def test_unknown_clause_ids_are_shown_not_dropped(tmp_path):
    results = sample_results()
    results["clauses"]["NEW-01"] = {"status": "pass", "checks": 1, "failures": 0}
    _, page = rendered(results, tmp_path)
    assert page.by_id["clause-NEW-01"]["data-status"] == "pass"


def junit_cases(path):
    root = ET.parse(path).getroot()
    return root, {c.get("name"): c for c in root.iter("testcase")}


def test_junit_has_one_testcase_per_clause(tmp_path):
    results = sample_results(evil=True)
    path = render.write_junit(results, tmp_path / "junit.xml")
    root, cases = junit_cases(path)
    assert len(cases) == 88 and set(cases) == set(ALL_IDS)
    statuses = [e["status"] for e in results["clauses"].values()]
    failed = {n for n, c in cases.items() if c.find("failure") is not None}
    skipped = {n for n, c in cases.items() if c.find("skipped") is not None}
    assert failed == {"FLAG-03", "MASK-01", "ERR-03"}
    assert len(skipped) == statuses.count("unsupported") + statuses.count("untested")
    assert "FLAG-06" in skipped
    assert root.find("testsuite").get("failures") == "3"
    assert root.find("testsuite").get("skipped") == str(len(skipped))
    assert "d-0001" in cases["FLAG-03"].find("failure").text
    assert EVIL in cases["ERR-03"].find("failure").text, "escaped in the file, intact once parsed"
    deviation = cases["FLAG-05"]
    assert deviation.find("failure") is None and deviation.find("skipped") is None
    assert "DEV-unroll-backwards-zero-mask" in deviation.find("system-out").text
    assert cases["CALL-01"].find("*") is None


def test_junit_of_empty_results_skips_everything(tmp_path):
    root, cases = junit_cases(render.write_junit({}, tmp_path / "junit.xml"))
    assert len(cases) == 88 and all(c.find("skipped") is not None for c in cases.values())


def shard(record, discrepancies=1, elapsed=10.0, examples=5, first=None):
    r = Results("keras3", "tf_keras", seed=3)
    for ids, kwargs in record:
        r.record(ids, **kwargs)
    for i in range(discrepancies):
        r.add_discrepancy(["FLAG-03"], "value", {"seed": i}, f"shard diff {i}", repro=f"repro/d-{i + 1:04d}.py")
    data = r.to_dict()
    data.update(elapsed_s=elapsed, examples=examples, time_to_first_discrepancy_s=first)
    return data


def test_merge_sums_counts_and_recomputes_statuses():
    a = shard([(["CALL-01"], {}), (["FLAG-03"], {"ok": False}), (["FLAG-06"], {"unsupported": True}),
               (["CALL-03"], {"unsupported": True})], discrepancies=1, elapsed=10.0, examples=5, first=4.0)
    b = shard([(["CALL-01"], {}), (["CALL-01"], {}), (["FLAG-03"], {}), (["FLAG-06"], {"unsupported": True}),
               (["CALL-03"], {})], discrepancies=2, elapsed=25.0, examples=7, first=2.5)
    merged = render.merge([a, b])
    clauses = merged["clauses"]
    assert clauses["CALL-01"] == {"status": "pass", "checks": 3, "failures": 0, "unsupported": 0, "inconclusive": 0}
    assert (clauses["FLAG-03"]["checks"], clauses["FLAG-03"]["failures"], clauses["FLAG-03"]["status"]) == (2, 1, "fail")
    assert clauses["FLAG-06"]["status"] == "unsupported"
    assert clauses["CALL-03"]["status"] == "pass", "supported in one shard"
    assert clauses["CELL-05"]["status"] == "untested"
    assert merged["examples"] == 12 and merged["elapsed_s"] == 25.0
    assert merged["time_to_first_discrepancy_s"] == 2.5 and merged["shards"] == 2
    assert [d["id"] for d in merged["discrepancies"]] == ["d-0001", "d-0002", "d-0003"]
    assert [d["detail"] for d in merged["discrepancies"]] == ["shard diff 0", "shard diff 0", "shard diff 1"]
    assert [d["shard_id"] for d in merged["discrepancies"]] == ["d-0001", "d-0001", "d-0002"]
    assert merged["seed"] == 3 and merged["implementation"] == "keras3"


def test_merge_keeps_unsupported_without_the_optional_count():
    # interfaces.md's results.json has no "unsupported" count: the status says it.
    bare = {"implementation": "x", "oracle": "tf_keras",
            "clauses": {"FLAG-06": {"status": "unsupported", "checks": 4, "failures": 0}}}
    merged = render.merge([bare, bare])
    assert merged["clauses"]["FLAG-06"]["status"] == "unsupported"
    assert merged["clauses"]["FLAG-06"]["checks"] == 8


def test_merged_results_render(tmp_path):
    merged = render.merge([sample_results(), sample_results()])
    _, page = rendered(merged, tmp_path)
    assert page.by_id["clause-FLAG-03"]["data-status"] == "fail"
    assert [a["id"] for a in page.with_class("article", "discrepancy")] == ["d-0001", "d-0002", "d-0003", "d-0004"]
    assert "merged shards" in page.text["summary"]


def test_comparison_has_one_column_per_implementation(tmp_path):
    runs = [sample_results("keras3"), Results("reference", "tf_keras").to_dict(), sample_results("mypkg.rnn")]
    runs[1]["clauses"]["FLAG-06"].update(status="pass", checks=1)
    page = Page(render.render_comparison(runs, tmp_path).read_text())
    assert [a["data-impl"] for a in page.with_class("th", "impl")] == ["keras3", "reference", "mypkg.rnn"]
    rows = page.with_class("tr", "clause")
    assert len(rows) == 88
    cells = [a["data-status"] for a in page.with_class("td", "cell")]
    assert len(cells) == 88 * 3
    flag06 = ALL_IDS.index("FLAG-06")
    assert cells[flag06 * 3: flag06 * 3 + 3] == ["unsupported", "pass", "unsupported"]


def write_run(directory, results, repro_codes):
    directory.mkdir(parents=True)
    for d, code in zip(results["discrepancies"], repro_codes):
        (directory / d["repro"]).parent.mkdir(exist_ok=True)
        (directory / d["repro"]).write_text(code)
    path = directory / "results.json"
    path.write_text(json.dumps(results))
    return path


def test_report_command_merges_shards_and_compares_implementations(tmp_path):
    a = write_run(tmp_path / "s1", shard([(["CALL-01"], {})], discrepancies=1), ["# shard one\n"])
    b = write_run(tmp_path / "s2", shard([(["CALL-01"], {})], discrepancies=1), ["# shard two\n"])
    ref = Results("reference", "tf_keras")
    ref.record(["CALL-01"])
    c = write_run(tmp_path / "s3", ref.to_dict(), [])
    out = tmp_path / "out"
    assert render.report_command([a, b, c], out) == 1, "discrepancies found"
    page = Page((out / "report.html").read_text())
    assert [x["data-impl"] for x in page.with_class("th", "impl")] == ["keras3", "reference"]
    merged = json.loads((out / "keras3" / "results.json").read_text())
    assert merged["clauses"]["CALL-01"]["checks"] == 2
    assert [d["repro"] for d in merged["discrepancies"]] == ["repro/d-0001.py", "repro/d-0002.py"]
    assert (out / "keras3" / "repro" / "d-0002.py").read_text() == "# shard two\n"
    shard_page = Page((out / "keras3" / "report.html").read_text())
    assert shard_page.text["code-d-0002"] == "# shard two\n"
    assert len(junit_cases(out / "keras3" / "junit.xml")[1]) == 88
    assert (out / "reference" / "report.html").exists()
    assert all("repro_code" not in d for d in merged["discrepancies"]), "code lives in repro/"
    # Re-rendering the merged output in place gives the same reproducers back.
    assert render.report_command([out / "keras3" / "results.json"], out / "keras3") == 1
    again = Page((out / "keras3" / "report.html").read_text())
    assert again.text["code-d-0001"] == "# shard one\n" and again.text["code-d-0002"] == "# shard two\n"


def test_report_command_single_implementation(tmp_path, capsys):
    ref = Results("reference", "tf_keras")
    ref.record(["CALL-01"])
    path = write_run(tmp_path / "run", ref.to_dict(), [])
    assert render.report_command([path], tmp_path / "out") == 0
    page = Page((tmp_path / "out" / "report.html").read_text())
    assert page.by_id["clause-CALL-01"]["data-status"] == "pass"
    assert page.text["verdict"].strip() == "pass"
    assert json.loads((tmp_path / "out" / "results.json").read_text())["implementation"] == "reference"
    assert (tmp_path / "out" / "junit.xml").exists()


def test_report_command_rejects_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert render.report_command([bad], tmp_path / "out") == 2
    assert render.report_command([tmp_path / "missing.json"], tmp_path / "out") == 2
    assert render.report_command([], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "missing.json" in err
    assert not (tmp_path / "out").exists()


def test_discrepancies_in_the_fuzzers_shape_use_compares_mismatches(tmp_path):
    """The campaign keeps conformance.compare's Mismatch dicts under "mismatches" (no "stats")."""
    import numpy as np

    from conformance import compare

    ones = np.ones((2, 3), np.float32)
    value = compare.compare({"steps": [{"result": [ones, ones]}]},
                            {"steps": [{"result": [ones + np.eye(2, 3, 1, dtype=np.float32), ones * 2]}]},
                            {"timesteps": 4})
    error = compare.compare({"error": {"type": "ValueError", "message": "bad <cell>", "stage": "construct"}},
                            {"steps": []}, {})
    r = Results("keras3", "tf_keras")
    r.record(["FLAG-01"], ok=False)
    r.record(["ERR-01"], ok=False)
    r.add_discrepancy(["FLAG-01"], "value", {"dtype": "float64"}, value[0].detail, repro="repro/d-0001.py",
                      mismatches=[m.to_dict() for m in value], occurrences=3, xfail=False, side="implementation",
                      original={"dtype": "float64", "batch": 9})
    r.add_discrepancy(["ERR-01"], "error", {}, error[0].detail, mismatches=[m.to_dict() for m in error],
                      xfail=True, side="implementation")
    results = r.to_dict()
    _, page = rendered(results, tmp_path)
    first = "".join(page.text["d-0001"].split())
    assert "maxabserror1maxrelerror1firstdifferingindex[0,1]" in first, "the primary mismatch's stats"
    assert "value0state[0]maxabsdiff1" in first, "every mismatch listed"
    assert "seen3times" in first and '"batch":9' in first
    second = page.text["d-0002"]
    assert "ValueError: bad <cell>" in second and "no error" in second and "expected (xfail)" in second
    assert page.text["verdict"].strip() == "1 discrepancy", "an xfailed discrepancy is not counted"
    assert "FLAG-01 float64: 1" in page.text["plot-errors"]


def test_reproducers_are_read_only_from_inside_the_report_folder(tmp_path):
    (tmp_path / "secret.txt").write_text("not a reproducer")
    results = sample_results()
    results["discrepancies"][0].update(repro="../secret.txt", repro_code="inline fallback\n")
    _, page = rendered(results, tmp_path / "report")
    assert page.text["code-d-0001"] == "inline fallback\n"


@pytest.mark.parametrize("xfail_all, words", [(False, "2 discrepancies"), (True, "pass (2 known discrepancies, xfail)")])
def test_verdict_follows_xfail_like_the_exit_status(tmp_path, xfail_all, words):
    results = sample_results()
    for d in results["discrepancies"]:
        d["xfail"] = xfail_all
    _, page = rendered(results, tmp_path)
    assert page.text["verdict"].strip() == words


def test_verdict_counts_failing_clauses_without_discrepancies(tmp_path):
    r = Results("keras3", "tf_keras")
    r.record(["CALL-01", "CALL-02"], ok=False)  # e.g. failures seen by the suite, not the fuzzer
    _, page = rendered(r.to_dict(), tmp_path)
    assert page.text["verdict"].strip() == "2 failing clauses"


def test_junit_skips_clauses_whose_discrepancies_are_all_xfailed(tmp_path):
    results = sample_results()
    results["discrepancies"][1]["xfail"] = True  # ERR-03's only discrepancy
    root, cases = junit_cases(render.write_junit(results, tmp_path / "junit.xml"))
    assert cases["ERR-03"].find("failure") is None
    assert "d-0002" in cases["ERR-03"].find("skipped").get("message")
    assert cases["FLAG-03"].find("failure") is not None
    assert root.find("testsuite").get("failures") == "2"


def test_an_inconclusive_clause_is_neither_a_pass_nor_a_failure(tmp_path):
    r = Results("mypkg", "tf_keras")
    r.record(["CALL-01"], count=4)
    r.record(["FLAG-05"], inconclusive=True, count=2)
    results = r.to_dict()
    assert results["clauses"]["FLAG-05"]["status"] == "inconclusive"
    html, page = rendered(results, tmp_path)
    assert 'class="verdict s-inconclusive"' in html and "1 inconclusive clause" in html
    _, cases = junit_cases(render.write_junit(results, tmp_path / "junit.xml"))
    assert "too sensitive" in cases["FLAG-05"].find("skipped").get("message")
