"""reports/: the HTML report, junit.xml, shard merging, the comparison view and `rnnconf report`.

Structure is checked through element ids and attributes (never whitespace snapshots); inputs are
built with rnnconf.engine.results.Results, so they have the real results.json shape.
"""
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rnnconf.conformance.spec.clauses import ALL_IDS, GROUPS
from rnnconf.engine.deviations import DEVIATIONS
from rnnconf.engine.results import Results, merge_shards
from rnnconf.reports import render

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
    assert len(page.with_class("tr", "clause")) == len(ALL_IDS)


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
    assert page.text["verdict"].strip() == "3 failing clauses · 2 discrepancies"
    assert "incomplete" not in page.by_id


def test_unsupported_clauses_are_marked(report):
    _, _, page = report
    assert "FLAG-06" in page.text["unsupported-note"]
    assert "unsupported" in page.text["clause-FLAG-06"]


def test_unsupported_clauses_show_the_implementations_reasons_and_conversions(tmp_path):
    results = sample_results()
    results["clauses"]["FLAG-06"]["unsupported_reasons"] = {"lacks OnnxLike cannot convert this layer: op <Loop>": 7}
    results["conversions"] = 12
    html, page = rendered(results, tmp_path)
    assert "lacks OnnxLike cannot convert this layer: op <Loop> (\u00d77)" in page.text["clause-FLAG-06"]
    assert "op &lt;Loop&gt;" in html  # escaped like everything from the run
    assert "models converted" in html and "12 (one per drawn case" in html


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
    assert "plot-checks" in page.by_id and "plot-margins" in page.by_id
    checks_plot = page.text["plot-checks"]
    assert all(key in checks_plot for key in GROUPS)
    margins = page.text["plot-margins"]
    assert "CALL float32" in margins and "CALL float64" in margins and "SHAPE float32" in margins
    assert "FLAG float32" not in margins, "a group without passing values has no strip"


def test_margin_plot_counts_checks_per_decade_of_the_bound(tmp_path):
    r = Results("reference", "tf_keras")
    for margin in ({"float32": 0.0}, {"float32": 0.0}, {"float32": 0.004}, {"float32": 0.5}, {"float64": 1e-12}):
        r.record(["CALL-01"])
        r.margins.add(["CALL-01"], margin)
    results = r.to_dict()
    assert results["clauses"]["CALL-01"]["margin"] == {
        "float32": {"max": 0.5, "hist": {"exact": 2, "-3": 1, "-1": 1}},
        "float64": {"max": 1e-12, "hist": {"-8": 1}}}, "below the lowest decade counts in it"
    _, page = rendered(results, tmp_path)
    text = page.text["plot-margins"]
    assert "CALL float32: 2 check(s), equal values" in text
    assert "CALL float32: 1 check(s), 1e-3 to 1e-2 of the bound" in text
    assert "CALL float32: largest 0.5 of the bound" in text
    assert "CALL float64: 1 check(s), 1e-8 to 1e-7 of the bound" in text
    assert "no-margin-plot" not in page.by_id


def test_a_run_without_margins_says_so(tmp_path):
    _, page = rendered(Results("reference", "tf_keras").to_dict(), tmp_path)
    assert "plot-margins" not in page.by_id and "no-margin-plot" in page.by_id


def test_everything_from_the_run_is_escaped(tmp_path):
    results = sample_results(impl=EVIL, evil=True)
    results["versions"][EVIL] = EVIL
    results["clauses"]["CALL-01"]["margin"] = {EVIL: {"max": 1e-3, "hist": {"-3": 1}}}
    html, page = rendered(results, tmp_path)
    assert EVIL not in html
    assert "&lt;script&gt;" in html
    assert [t for t, _ in page.tags].count("script") == 1, "only the report's own script"
    assert EVIL in page.text["code-d-0002"] and EVIL in page.text["d-0002"], "shown as text"
    assert EVIL in page.text["summary"]


def test_empty_results_render_every_clause_untested(tmp_path):
    html, page = rendered({}, tmp_path)
    assert len(page.with_class("tr", "clause")) == len(ALL_IDS)
    assert {a["data-status"] for a in page.with_class("tr", "clause")} == {"untested"}
    assert page.text["verdict"].strip() == "no checks recorded"
    assert "clauses" in page.text["incomplete"]
    assert "no-discrepancies" in page.by_id and "no-suite-failures" in page.by_id
    assert "plot-errors" not in page.by_id, "no magnitudes, no panel"
    assert "no-growth-plot" in page.by_id and "plot-growth" not in page.by_id


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


def junit_cases(path, part="clauses"):
    """(the <testsuite> of one part of junit.xml: clauses, suite or fuzz; its testcases by name)."""
    root = ET.parse(path).getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name").endswith("." + part))
    return suite, {c.get("name"): c for c in suite.iter("testcase")}


def test_junit_has_one_testcase_per_clause(tmp_path):
    results = sample_results(evil=True)
    path = render.write_junit(results, tmp_path / "junit.xml")
    suite, cases = junit_cases(path)
    assert len(cases) == len(ALL_IDS) and set(cases) == set(ALL_IDS)
    statuses = [e["status"] for e in results["clauses"].values()]
    failed = {n for n, c in cases.items() if c.find("failure") is not None}
    skipped = {n for n, c in cases.items() if c.find("skipped") is not None}
    assert failed == {"FLAG-03", "MASK-01", "ERR-03"}
    assert len(skipped) == statuses.count("unsupported") + statuses.count("untested")
    assert "FLAG-06" in skipped
    assert suite.get("failures") == "3"
    assert suite.get("skipped") == str(len(skipped))
    assert "d-0001" in cases["FLAG-03"].find("failure").text
    assert EVIL in cases["ERR-03"].find("failure").text, "escaped in the file, intact once parsed"
    deviation = cases["FLAG-05"]
    assert deviation.find("failure") is None and deviation.find("skipped") is None
    assert "DEV-unroll-backwards-zero-mask" in deviation.find("system-out").text
    assert cases["CALL-01"].find("*") is None


def test_junit_of_empty_results_skips_everything(tmp_path):
    root, cases = junit_cases(render.write_junit({}, tmp_path / "junit.xml"))
    assert len(cases) == len(ALL_IDS) and all(c.find("skipped") is not None for c in cases.values())


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
               (["CALL-05"], {"unsupported": True})], discrepancies=1, elapsed=10.0, examples=5, first=4.0)
    b = shard([(["CALL-01"], {}), (["CALL-01"], {}), (["FLAG-03"], {}), (["FLAG-06"], {"unsupported": True}),
               (["CALL-05"], {})], discrepancies=2, elapsed=25.0, examples=7, first=2.5)
    merged = merge_shards([a, b])
    clauses = merged["clauses"]
    assert clauses["CALL-01"] == {"status": "pass", "checks": 3, "failures": 0, "unsupported": 0, "inconclusive": 0}
    assert (clauses["FLAG-03"]["checks"], clauses["FLAG-03"]["failures"], clauses["FLAG-03"]["status"]) == (2, 1, "fail")
    assert clauses["FLAG-06"]["status"] == "unsupported"
    assert clauses["CALL-05"]["status"] == "pass", "supported in one shard"
    assert clauses["CELL-05"]["status"] == "untested"
    assert merged["examples"] == 12 and merged["elapsed_s"] == 25.0
    assert merged["time_to_first_discrepancy_s"] == 2.5 and merged["shards"] == 2
    assert [d["id"] for d in merged["discrepancies"]] == ["d-0001", "d-0002", "d-0003"]
    assert [d["detail"] for d in merged["discrepancies"]] == ["shard diff 0", "shard diff 0", "shard diff 1"]
    assert [d["shard_id"] for d in merged["discrepancies"]] == ["d-0001", "d-0001", "d-0002"]
    assert merged["seed"] == 3 and merged["implementation"] == "keras3"


def test_merge_combines_margins():
    a, b = sample_results(), sample_results()
    merged = merge_shards([a, b])["clauses"]["CALL-01"]["margin"]
    assert merged == {"float32": {"max": 0.002, "hist": {"exact": 2, "-3": 2}},
                      "float64": {"max": 0.3, "hist": {"-1": 2}}}


def test_merge_keeps_unsupported_without_the_optional_count():
    # interfaces.md's results.json has no "unsupported" count: the status says it.
    bare = {"implementation": "x", "oracle": "tf_keras",
            "clauses": {"FLAG-06": {"status": "unsupported", "checks": 4, "failures": 0}}}
    merged = merge_shards([bare, bare])
    assert merged["clauses"]["FLAG-06"]["status"] == "unsupported"
    assert merged["clauses"]["FLAG-06"]["checks"] == 8


def test_merged_results_render(tmp_path):
    merged = merge_shards([sample_results(), sample_results()])
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
    assert len(rows) == len(ALL_IDS)
    cells = [a["data-status"] for a in page.with_class("td", "cell")]
    assert len(cells) == len(ALL_IDS) * 3
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
    assert len(junit_cases(out / "keras3" / "junit.xml")[1]) == len(ALL_IDS)
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
    """The campaign keeps rnnconf.engine.compare's Mismatch dicts under "mismatches" (no "stats")."""
    import numpy as np

    from rnnconf.engine import compare

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
    assert page.text["verdict"].strip() == "1 failing clause · 1 discrepancy", "xfailed: not counted"


def test_reproducers_are_read_only_from_inside_the_report_folder(tmp_path):
    (tmp_path / "secret.txt").write_text("not a reproducer")
    results = sample_results()
    results["discrepancies"][0].update(repro="../secret.txt", repro_code="inline fallback\n")
    _, page = rendered(results, tmp_path / "report")
    assert page.text["code-d-0001"] == "inline fallback\n"


@pytest.mark.parametrize("xfail_all, words", [(False, "3 failing clauses · 2 discrepancies"),
                                               (True, "pass (2 known discrepancies, xfail)")])
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
    suite, cases = junit_cases(render.write_junit(results, tmp_path / "junit.xml"))
    assert cases["ERR-03"].find("failure") is None
    assert "d-0002" in cases["ERR-03"].find("skipped").get("message")
    assert cases["FLAG-03"].find("failure") is not None
    assert suite.get("failures") == "2"


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


# ---- suite failures, evidence links, coverage growth ------------------------------------------------
def structure_message(batch):
    return (f"keras3 differs from tf_keras:\n  structure at step 0 result: expected [array({batch}, 3), "
            f"array({batch}, 2)], got [array({batch}, 3), [array({batch}, 2)]]\n\nReproduce with:\n"
            f"from rnnconf.adapters import namespaces\ncase = {{'batch': {batch}}}\nprint('replay {batch}')\n")


# A pytest traceback as the suite records it: the assertion's message is in the `E` lines.
TRACEBACK = """err_id = 'ERR-04'

    def check_impl(err_id, impl, oracle_error, impl_error, replay):
>       assert compare.same_error_class(oracle_error, impl_error), (
E       AssertionError: ERR-04: keras3 raises IndexError: 'list index out of range'; the oracle raises ValueError: 'Layer has 2 states'
E         
E         Reproduce with: pytest conformance/test_errors.py -k ERR-04 --impl keras3
E       assert False
E        +  where False = <function same_error_class at 0x7fbc38ff4540>({'type': 'ValueError'})

conformance/test_errors.py:41: AssertionError"""

CASE_MESSAGE = 'keras3 raised InvalidArgumentError: Matrix size-incompatible: In[0]: [3,2]\n\nCase:\n{\n "batch": 3\n}'

FAILED_TESTS = [
    {"test": "conformance/test_cells.py::test_stacked_cells[one]", "clauses": ["CELL-10"],
     "message": structure_message(3)},
    {"test": "conformance/test_errors.py::test_error_direct[ERR-04-direct-1]", "clauses": ["ERR-04"],
     "message": TRACEBACK},
    {"test": "conformance/test_flags.py::test_flags_match_oracle[stack-state]", "clauses": ["CELL-10", "FLAG-02"],
     "message": structure_message(5)},
    {"test": "conformance/test_shapes.py::test_last_output_shape[custom_hd]", "clauses": ["SHAPE-01"],
     "message": CASE_MESSAGE},
]


def results_with_suite_failures():
    """sample_results plus the suite's failed tests (their clauses counted failing, as `rnnconf
    check` does) and a failing clause that no item names."""
    r = Results("keras3", "tf_keras", seed=7)
    for _ in range(3):
        r.record(["CALL-01", "SHAPE-02"])
    r.record(["FLAG-03", "MASK-01"], ok=False)
    for t in FAILED_TESTS:
        r.record(t["clauses"], ok=False)
    r.record(["FLAG-04"], ok=False, count=4)  # e.g. fuzzer examples counted against all their clauses
    r.add_discrepancy(["FLAG-03", "MASK-01"], "value", VALUE_CASE, "max abs diff 0.41 at output[1][2]",
                      repro="repro/d-0001.py", repro_code="print('d-0001')\n", stats={"max_abs": 0.41},
                      fingerprint={"kind": "value", "core": "output of the first call", "features": ["mask"]})
    data = r.to_dict()
    data.update(examples=40, elapsed_s=12.5, suite={"exit": 1, "tests": 120, "failed_tests": FAILED_TESTS})
    return data


class RowLinks(HTMLParser):
    """The in-page link targets inside each clause row, and every in-page link of the page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.rows, self.targets, self._row = {}, [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            row = attrs.get("id") or ""
            self._row = row if row.startswith("clause-") else None
            if self._row:
                self.rows[self._row] = []
        elif tag == "a" and (attrs.get("href") or "").startswith("#"):
            self.targets.append(attrs["href"][1:])
            if self._row:
                self.rows[self._row].append(attrs["href"][1:])

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


def assert_every_fail_row_links_to_evidence(html):
    page, links = Page(html), RowLinks(html)
    failing = [a["id"] for a in page.with_class("tr", "clause") if a["data-status"] == "fail"]
    assert failing
    for row in failing:
        assert links.rows[row], f"{row} links to nothing"
        assert all(target in page.by_id for target in links.rows[row]), (row, links.rows[row])
    missing = sorted({t for t in links.targets if t not in page.by_id})
    assert not missing, f"links to ids the page lacks: {missing}"
    return page, links


def test_suite_failures_show_each_test_with_what_differed_and_its_replay(tmp_path):
    """Each failed suite test is shown with its id, clauses, what differed (from a pytest traceback:
    the assertion's message without pytest's introspection) and the snippet after "Reproduce with:"."""
    _, page = rendered(results_with_suite_failures(), tmp_path)
    section = page.text["suite-failures"]
    for t in FAILED_TESTS:
        assert t["test"] in section, t["test"]
    tests = {page.text[a["id"]].split()[0]: a["id"] for t, a in page.tags if t == "li" and "id" in a}
    first = tests["conformance/test_cells.py::test_stacked_cells[one]"]
    assert "structure at step 0 result: expected [array(3, 3), array(3, 2)]" in page.text[f"what-{first}"]
    assert page.text[f"code-{first}"] == "from rnnconf.adapters import namespaces\ncase = {'batch': 3}\nprint('replay 3')"
    err = tests["conformance/test_errors.py::test_error_direct[ERR-04-direct-1]"]
    assert page.text[f"what-{err}"] == ("ERR-04: keras3 raises IndexError: 'list index out of range'; "
                                        "the oracle raises ValueError: 'Layer has 2 states'")
    assert page.text[f"code-{err}"] == "pytest conformance/test_errors.py -k ERR-04 --impl keras3"
    assert "where False" not in page.text[f"what-{err}"] and "where False" in page.text[err], \
        "the whole record stays available, apart from what differed"
    case = tests["conformance/test_shapes.py::test_last_output_shape[custom_hd]"]
    assert json.loads(page.text[f"code-{case}"]) == {"batch": 3}, "a message without a replay shows its case"
    assert {b["data-target"] for b in page.with_class("button", "copy")} >= {f"code-{i}" for i in tests.values()}


def test_suite_failures_that_differ_only_in_values_are_one_group(tmp_path):
    """Failures whose messages differ only in numbers, shapes and quoted names form one group listing
    its tests; other failures get groups of their own; the largest group comes first."""
    _, page = rendered(results_with_suite_failures(), tmp_path)
    groups = [a["id"] for a in page.with_class("article", "suite-group")]
    assert len(groups) == 3
    first = page.text[groups[0]]
    assert "2 tests" in first
    assert "test_stacked_cells[one]" in first and "test_flags_match_oracle[stack-state]" in first
    assert "ERR-04" not in first
    assert all("1 test" in page.text[g] for g in groups[1:])


def test_every_fail_row_links_to_the_items_that_failed_it(tmp_path):
    """Every `fail` row links to at least one item (discrepancy, suite failure group, or the note on
    failures no item names), every in-page link has its target, and items link back to clauses."""
    page, links = assert_every_fail_row_links_to_evidence(rendered(results_with_suite_failures(), tmp_path)[0])
    assert links.rows["clause-FLAG-03"] == ["d-0001"]
    group = links.rows["clause-FLAG-02"]
    assert len(group) == 1 and group[0].startswith("suite-")
    assert set(links.rows["clause-CELL-10"]) == {group[0]}, "one group holds both CELL-10 tests"
    assert links.rows["clause-FLAG-04"] == ["unattributed-FLAG-04"]
    assert "FLAG-04" in page.text["unattributed"] and "d-0001" in page.text["unattributed"]
    assert links.rows["clause-CALL-01"] == [], "a passing row has nothing to link"
    # Back links: a group to the clauses of its tests, a discrepancy to its clauses.
    group_text = page.text[group[0]]
    assert "CELL-10" in group_text and "FLAG-02" in group_text


def test_a_clause_failed_by_occurrences_links_to_their_discrepancy(tmp_path):
    """results.json's fuzz_evidence names the discrepancy behind a clause's failing examples even when
    the shrunk discrepancy itself does not reach that clause."""
    results = results_with_suite_failures()
    results["fuzz_evidence"] = {"FLAG-04": ["d-0001"]}
    _, links = assert_every_fail_row_links_to_evidence(rendered(results, tmp_path)[0])
    assert links.rows["clause-FLAG-04"] == ["d-0001"]


def test_every_fail_row_of_the_keras3_sample_links_to_evidence(tmp_path):
    """The committed Keras 3 sample (suite failures from pytest tracebacks and messages, two
    discrepancies, clauses failed by examples no item names) renders with every fail row linked."""
    sample = Path(__file__).resolve().parent.parent / "docs" / "samples" / "scoreboard" / "keras3" / "results.json"
    results = json.loads(sample.read_text())
    page, _ = assert_every_fail_row_links_to_evidence(rendered(results, tmp_path)[0])
    failed = results["suite"]["failed_tests"]
    assert len(page.with_class("article", "suite-group")) < len(failed), "grouped"
    assert all(t["test"] in page.text["suite-failures"] for t in failed)


def test_header_counts_failing_clauses_discrepancies_and_suite_failures(tmp_path):
    """The verdict counts failing clauses, distinct discrepancies and suite failures (tests and
    groups), and the header states the suite's size."""
    _, page = rendered(results_with_suite_failures(), tmp_path)
    assert page.text["verdict"].strip() == "7 failing clauses · 1 discrepancy · 4 suite failures in 3 groups"
    assert "120 tests, 4 failed" in page.text["summary"]
    assert "Suite failures (4 in 3 groups)" in page.text["summary"]


def test_suite_failures_alone_fail_the_verdict(tmp_path):
    """A run whose only failures are the suite's reads as failing, counted, not as a pass."""
    results = results_with_suite_failures()
    results["discrepancies"] = []
    results["clauses"]["FLAG-03"].update(failures=0, status="pass")
    results["clauses"]["MASK-01"].update(failures=0, status="pass")
    html, page = rendered(results, tmp_path)
    assert 'class="verdict s-fail"' in html
    assert page.text["verdict"].strip() == "5 failing clauses · 4 suite failures in 3 groups"


def test_suite_messages_and_test_ids_are_escaped(tmp_path):
    """A failed test's id, message and replay snippet from the run are shown as text, never markup."""
    results = results_with_suite_failures()
    results["suite"]["failed_tests"] = [{"test": f"conformance/test_x.py::test_y[{EVIL}]", "clauses": ["CELL-10"],
                                         "message": f"bad {EVIL}\n\nReproduce with:\nprint({EVIL!r})"}]
    html, page = rendered(results, tmp_path)
    assert EVIL not in html and [t for t, _ in page.tags].count("script") == 1
    assert EVIL in page.text["suite-failures"] and EVIL in page.text["code-suite-01-1"]


def test_junit_has_a_testcase_per_suite_failure_and_per_discrepancy(tmp_path):
    """junit.xml lists each failed suite test (as pytest names it) and each discrepancy as a failing
    testcase with what differed and how to replay it, beside the per-clause view."""
    path = render.write_junit(results_with_suite_failures(), tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert [s.get("name").rsplit(".", 1)[1] for s in root.iter("testsuite")] == ["suite", "fuzz", "clauses"]
    suite, cases = junit_cases(path, "suite")
    assert suite.get("tests") == suite.get("failures") == "4"
    stacked = cases["test_stacked_cells[one]"]
    assert stacked.get("classname") == "conformance.test_cells"
    failure = stacked.find("failure")
    assert failure.get("message").startswith("structure at step 0 result")
    assert "Reproduce with:\nfrom rnnconf.adapters import namespaces\ncase = {'batch': 3}" in failure.text
    assert "1 other test fail" in failure.text
    assert [p.get("value") for p in stacked.iter("property")] == ["CELL-10"]
    err = cases["test_error_direct[ERR-04-direct-1]"].find("failure")
    assert "ERR-04: keras3 raises IndexError" in err.get("message") and "where False" not in err.text
    fuzz, discrepancies = junit_cases(path, "fuzz")
    assert list(discrepancies) == ["d-0001: output of the first call"]
    text = discrepancies["d-0001: output of the first call"].find("failure").text
    assert "max abs diff 0.41" in text and "print('d-0001')" in text and '"go_backwards": true' in text
    _, clauses = junit_cases(path)
    assert len(clauses) == len(ALL_IDS)
    assert "test_flags_match_oracle[stack-state]" in clauses["FLAG-02"].find("failure").text
    assert "d-0001" in clauses["FLAG-03"].find("failure").text
    assert "no discrepancy or failed suite test" in clauses["FLAG-04"].find("failure").text
    assert root.get("failures") == str(4 + 1 + 7), "suite tests, discrepancies, clauses"


def test_junit_skips_a_discrepancy_accepted_by_xfail(tmp_path):
    """An xfailed discrepancy is a skipped testcase (the exit status does not fail on it) that still
    carries its detail."""
    results = sample_results()
    results["discrepancies"][1]["xfail"] = True
    _, cases = junit_cases(render.write_junit(results, tmp_path / "junit.xml"), "fuzz")
    assert cases["d-0001"].find("failure") is not None
    skipped = cases["d-0002"]
    assert skipped.find("failure") is None and "xfail" in skipped.find("skipped").get("message")
    assert "the oracle raises ValueError" in skipped.find("system-out").text


def test_coverage_growth_plot_from_progress_samples(tmp_path):
    """With "progress" samples the report draws clauses reached and distinct discrepancies against
    examples and against time; malformed samples are left out."""
    results = results_with_suite_failures()
    results["progress"] = [[0.0, 0, 40, 0], [5.0, 300, 70, 1], ["bad"], [10.2, 900, 80, 2], [1, 2, None, 3]]
    _, page = rendered(results, tmp_path)
    assert "no-growth-plot" not in page.by_id
    panels = ["growth-clauses-examples", "growth-clauses-time", "growth-discrepancies-examples",
              "growth-discrepancies-time"]
    assert all(p in page.by_id for p in panels)
    assert "3 samples" in page.text["plot-growth"]
    assert "clauses reached: 80 at 900 examples" in page.text["growth-clauses-examples"]
    assert "distinct discrepancies: 2 at 10 elapsed s" in page.text["growth-discrepancies-time"]


def test_coverage_growth_is_left_out_with_a_note_without_progress(tmp_path):
    """Without "progress" there is no growth plot, only a one-line note; the error-magnitude panel
    shows only where magnitudes were recorded."""
    results = results_with_suite_failures()
    results["discrepancies"][0]["stats"] = {}
    _, page = rendered(results, tmp_path)
    assert "plot-growth" not in page.by_id and "progress" in page.text["no-growth-plot"]
    assert "plot-errors" not in page.by_id and "plot-checks" in page.by_id


def test_report_command_keeps_the_suite_failures_of_every_shard(tmp_path):
    """Merging shards keeps their failed suite tests (a test failed in several shards once), so the
    merged report still links its failing clauses to them."""
    a, b = results_with_suite_failures(), results_with_suite_failures()
    b["suite"] = {"exit": 1, "tests": 120, "failed_tests": FAILED_TESTS[:1] + [
        {"test": "conformance/test_masking.py::test_mask[x]", "clauses": ["MASK-01"], "message": "mask differs"}]}
    paths = [write_run(tmp_path / name, data, ["print('d-0001')\n"]) for name, data in (("a", a), ("b", b))]
    assert render.report_command(paths, tmp_path / "out") == 1
    html = (tmp_path / "out" / "report.html").read_text()
    page, _ = assert_every_fail_row_links_to_evidence(html)
    section = page.text["suite-failures"]
    assert section.count("test_stacked_cells[one]") == 1 and "test_mask[x]" in section
    _, cases = junit_cases(tmp_path / "out" / "junit.xml", "suite")
    assert len(cases) == len(FAILED_TESTS) + 1


def test_versions_of_both_sides_are_kept_where_they_differ():
    from rnnconf.engine.results import merge_versions
    merged = merge_versions({"numpy": "2.4.6", "tf_keras": "2.21.0"}, {"numpy": "1.26.4", "keras": "3.15.1"},
                            "keras3-jax")
    assert merged == {"numpy": "2.4.6", "tf_keras": "2.21.0", "numpy (keras3-jax)": "1.26.4", "keras": "3.15.1"}
