"""Known-issues files: --xfail entries that match a signature, a fingerprint, a clause or a kind, with an
issue link and a note; plain xfail files keep working; stale entries are flagged in results and report."""
import json
import os
from pathlib import Path

import pytest

from rnnconf.reports import render
from rnnconf import cli
from rnnconf.engine import known_issues

TESTS = Path(__file__).parent
SIG = "value | output of the first call | flag:go_backwards"


def test_plain_lines_parse_as_before():
    """A clause ID or kind alone, with or without a # comment, is a plain entry; comments and blanks are skipped."""
    assert known_issues.parse_known_issue("FLAG-06        # time_major is not implemented") == {
        "entry": "FLAG-06", "field": "plain", "url": None, "note": None}
    assert known_issues.parse_known_issue("value")["entry"] == "value"
    assert known_issues.parse_known_issue("   # only a comment") is None and known_issues.parse_known_issue("") is None


def test_url_and_note_follow_the_match():
    """The first http(s) word is the issue link (its #fragment kept); the rest of the line is the note."""
    e = known_issues.parse_known_issue("FLAG-06  https://github.com/k/k/issues/1#c2  time_major is not implemented  # ok")
    assert e == {"entry": "FLAG-06", "field": "plain", "url": "https://github.com/k/k/issues/1#c2",
                 "note": "time_major is not implemented"}
    assert known_issues.parse_known_issue("MASK-01 masks ignored")["note"] == "masks ignored"


def test_signature_and_fingerprint_entries_keep_their_spaces():
    """`signature:` runs to the URL (or ` -- `); `fingerprint:` takes kind | core."""
    e = known_issues.parse_known_issue(f"signature: {SIG}, flag:return_sequences  https://x.org/i/7  wrong order")
    assert e == {"entry": f"{SIG}, flag:return_sequences", "field": "signature", "url": "https://x.org/i/7",
                 "note": "wrong order"}
    e = known_issues.parse_known_issue("fingerprint: error | step 0 -- float64 rejected")
    assert e == {"entry": "error | step 0", "field": "fingerprint", "url": None, "note": "float64 rejected"}


def test_comments_start_at_a_hash_except_in_urls_and_inside_signatures():
    """A # starts a comment as before, but not inside a URL nor, on a signature line, inside the text."""
    assert known_issues.parse_known_issue("value#accepted")["entry"] == "value"
    e = known_issues.parse_known_issue("fingerprint: error | the implementation raises E (input #_ bad), the oracle nothing  # c")
    assert e["entry"] == "error | the implementation raises E (input #_ bad), the oracle nothing"
    assert known_issues.parse_known_issue("FLAG-06 https://x.org/a#b # c")["url"] == "https://x.org/a#b"


def test_read_xfail_returns_only_plain_entries(tmp_path):
    """read_xfail keeps returning clause IDs and kinds (what the suite and the campaign take)."""
    path = tmp_path / "known.txt"
    path.write_text(f"# header\nFLAG-06  https://x.org/1  note\nsignature: {SIG}\nvalue\n")
    assert known_issues.read_xfail(str(path)) == ["FLAG-06", "value"]
    assert [e["field"] for e in known_issues.read_known_issues(str(path))] == ["plain", "signature", "plain"]


def _data():
    return {"clauses": {"FLAG-03": {"status": "fail", "checks": 1, "failures": 1}},
            "discrepancies": [
                {"id": "d-0001", "kind": "value", "clauses": ["FLAG-03"], "signature": SIG,
                 "fingerprint": {"kind": "value", "core": "output of the first call", "features": ["flag:go_backwards"]}},
                {"id": "d-0002", "kind": "error", "clauses": ["ERR-01"], "signature": "error | step 0 | ",
                 "fingerprint": {"kind": "error", "core": "step 0", "features": []}}]}


def test_apply_marks_matches_and_flags_entries_that_match_nothing():
    """Signature and fingerprint entries mark their discrepancies xfail with the issue; a clause entry
    with suite failures matches; an entry matching nothing is recorded as no longer reproducing."""
    known = [known_issues.parse_known_issue(line) for line in (
        f"signature: {SIG}  https://x.org/1  note", "fingerprint: error | step 0", "MASK-01", "FLAG-06")]
    data = _data()
    rows = known_issues.apply_known_issues(data, known, suite={"clauses": {"MASK-01": {"failures": 2}}})
    assert [d["xfail"] for d in data["discrepancies"]] == [True, True]
    assert data["discrepancies"][0]["known_issue"]["url"] == "https://x.org/1"
    assert [r["status"] for r in rows] == ["matched", "matched", "matched", known_issues.NO_LONGER_REPRODUCES]
    assert rows[0]["discrepancies"] == ["d-0001"] and rows[2]["suite"] is True
    assert data["known_issues"] is rows


def test_report_lists_known_issues_and_flags_stale_ones(tmp_path):
    """report.html has a Known issues section with links, matched discrepancies and stale entries flagged."""
    data = _data()
    known_issues.apply_known_issues(data, [known_issues.parse_known_issue(f"signature: {SIG}  https://x.org/1  masks"),
                                  known_issues.parse_known_issue("FLAG-06 time_major")])
    html = render.render_report(data, tmp_path).read_text()
    assert 'id="known-issues"' in html and 'href="https://x.org/1"' in html
    assert "no longer reproduces (fixed upstream?)" in html and 'href="#d-0001"' in html


@pytest.fixture
def _importable_targets(monkeypatch):
    # Spawned drivers and workers import `fuzz_targets.*` from tests/.
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def check(out, *extra):
    return cli.main(["check", "--impl", "fuzz_targets.backwards_not_reversed", "--oracle", "reference",
                     "--out", str(out), "--skip-suite", "--workers", "1", "--no-progress", "--seed", "1",
                     "--max-examples", "100", "--variants", "1", "--fail-fast", *extra])


def test_check_accepts_a_signature_entry_and_records_stale_ones(tmp_path, _importable_targets, capsys):
    """A signature entry accepts its discrepancy (exit 0); a stale entry is in results.json and the
    report as no longer reproducing; the suite is handed the plain entries only."""
    assert check(tmp_path / "first") == 1
    found = json.loads((tmp_path / "first" / "results.json").read_text())["discrepancies"]
    known = tmp_path / "known.txt"
    known.write_text("".join(f"signature: {d['signature']}  https://x.org/1  reversed\n" for d in found)
                     + "FLAG-06  https://x.org/2  time_major\n")
    out = tmp_path / "second"
    assert check(out, "--xfail", str(known)) == 0
    data = json.loads((out / "results.json").read_text())
    assert all(d["xfail"] and d["known_issue"]["url"] == "https://x.org/1" for d in data["discrepancies"])
    assert [r["status"] for r in data["known_issues"]][-1] == known_issues.NO_LONGER_REPRODUCES
    assert "no longer reproduces" in (out / "report.html").read_text()
    assert "'FLAG-06' matched nothing" in capsys.readouterr().err
    assert (out / "xfail.plain.txt").read_text() == "FLAG-06\n"
