"""GRAD-09 (dropout while training) can be checked more than one way: the report says, per check,
which way it went (the suite's check_notes, through results.json to the clause's row)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnconf.engine import fixed_masks
from rnnconf.engine.results import Results, merge_shards
from rnnconf.reports import render

ROOT = Path(__file__).resolve().parents[1]


def dropout_suite(impl, tmp_path):
    report = tmp_path / f"{impl}.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/test_gradients.py", "-k", "dropout and simple",
                           "-q", "-p", "no:cacheprovider", f"--impl={impl}", f"--clause-report={report}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(report.read_text())


@pytest.mark.parametrize("impl, went", [("reference", "pass"), ("tests.fuzz_targets.grad_dropout_ignored", "fail")])
def test_the_report_says_which_way_each_dropout_gradient_check_went(impl, went, tmp_path):
    suite = dropout_suite(impl, tmp_path)
    expected = "simple: " + went + ", with the masks fixed by seeding, against the implementation's own forward pass"
    assert suite["check_notes"]["GRAD-09"] == {expected: 1}
    results = Results(impl, "tf_keras")
    results.merge_suite(suite)
    data = results.to_dict()
    assert data["clauses"]["GRAD-09"]["check_notes"] == {expected: 1}
    assert merge_shards([data, data])["clauses"]["GRAD-09"]["check_notes"] == {expected: 2}
    html = render.render_report(data, tmp_path).read_text()
    row = html[html.index('id="clause-GRAD-09"'):]
    assert expected.replace("'", "&#39;") in row[:row.index("</tr>")]


def test_an_unchecked_dropout_gradient_says_no_way_was_taken():
    note = fixed_masks.fixed_mask_note("lstm", "unsupported", "the masks cannot be fixed: no rnnconf_set_seed")
    assert note.startswith("lstm: not checked (the masks cannot be fixed") and "distribution" in note
