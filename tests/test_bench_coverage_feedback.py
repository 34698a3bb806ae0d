"""bench/coverage_feedback.py's reading of a campaign's log (the benchmark itself is run by hand)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import coverage_feedback  # noqa: E402


def _write_log(folder, records):
    folder.mkdir()
    (folder / "log-1-1-w1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"type": "exa')


def test_the_first_failing_example_is_timed_from_the_drivers_ready(tmp_path):
    records = [{"type": "ready", "t": 100.0}, {"type": "round", "t": 100.1}]
    records += [{"type": "example", "n": n, "t": 100.0 + n, "kind": None, "new_oracle_arcs": 10} for n in (1, 2, 3)]
    records += [{"type": "example", "n": 4, "t": 104.5, "kind": "value"},
                {"type": "example", "n": 5, "t": 105.0, "kind": "error"}, {"type": "discrepancy", "t": 106.0}]
    _write_log(tmp_path / "run", records)
    run = coverage_feedback.measure(tmp_path / "run", 1)
    assert run["found"] and run["first_s"] == 4.5 and run["first_examples"] == 4
    assert run["examples"] == 5 and run["rate"] == 1.0 and run["new_arcs"] == 30


def test_a_run_without_a_failure_is_a_miss_with_its_examples(tmp_path):
    records = [{"type": "ready", "t": 0.0}] + [{"type": "example", "n": n, "t": n / 2, "kind": None} for n in range(1, 9)]
    _write_log(tmp_path / "run", records)
    run = coverage_feedback.measure(tmp_path / "run", 0)
    assert not run["found"] and run["first_s"] is None and run["first_examples"] is None
    assert run["examples"] == 8 and run["rate"] == 2.0
