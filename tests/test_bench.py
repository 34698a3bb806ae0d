"""bench/throughput.py's arithmetic (the benchmark itself is run by hand: `make bench`)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import throughput  # noqa: E402


def _samples(totals, step=30):
    return [{"t": step * (i + 1), "total": float(y)} for i, y in enumerate(totals)]


def test_a_sawtooth_without_drift_has_no_growth():
    # Workers restarting: up and down by 100 MB around a flat line, after 2 minutes of warm-up.
    totals = [500, 700, 800] + [1000, 1050, 1100, 1000, 1050, 1100] * 10
    growth = throughput.memory_growth(_samples(totals))
    assert abs(growth["trend"]) < 10 and growth["peaks"] == 0


def test_a_steady_leak_shows_in_every_measure():
    totals = [1000 + 2 * i for i in range(60)]  # 2 MB every 30 s: 118 MB over the run
    growth = throughput.memory_growth(_samples(totals))
    assert 100 < growth["trend"] < 120 and growth["peaks"] > 70 and growth["last"] - growth["first"] > 100


def test_warm_up_is_left_out():
    totals = [100, 400, 900] + [1000] * 20
    assert throughput.memory_growth(_samples(totals))["first"] == 1000


def test_the_stream_is_shared_out_whole_between_drivers():
    # Cheap workers (the reference on both sides): every drawn case is run once, by whichever driver
    # is free, and its variants stay together.
    stream = [[{"cells": [{"kind": "simple", "units": 2}], "seed": 10 * block + v} for v in range(3)]
              for block in range(6)]
    row = throughput.measure("differential", "reference", "reference", stream, workers=2)
    assert row["examples"] == 18 and row["workers"] == 2 and row["rate"] > 0


def test_a_target_that_cannot_start_ends_the_bench_with_its_reason():
    # The other drivers must not wait at the start barrier for one that never starts.
    stream = [[{"cells": [{"kind": "simple", "units": 2}], "seed": 1}]]
    with pytest.raises(SystemExit, match="could not start its workers: .*no_such_target"):
        throughput.measure("differential", "no_such_target", "reference", stream, workers=2)


def test_ratios_are_paired_within_a_round_so_a_drifting_machine_cancels_out():
    # The machine is 30% slower in round 1: every configuration's rate drops alike.
    true = {("oracle", 1): 100.0, ("differential", 1): 95.0, ("oracle", 2): 190.0, ("differential", 2): 171.0}
    rows = [{"mode": m, "workers": w, "round": r, "rate": rate * (1.0 if r == 0 else 0.7)}
            for r in (0, 1) for (m, w), rate in true.items()]
    summary = throughput.summarize(rows)
    scaling = summary[throughput.SCALING]
    assert scaling["min"] == pytest.approx(scaling["max"]) == pytest.approx(171.0 / 95.0)
    assert summary["differential / oracle alone, 2 worker(s)"]["rounds"] == pytest.approx([0.9, 0.9])
    assert summary["rates"]["differential, 1 worker(s)"] == pytest.approx((95.0 + 66.5) / 2)


def test_a_ratio_needs_both_configurations_in_a_round():
    rows = [{"mode": "differential", "workers": 1, "round": 0, "rate": 50.0},
            {"mode": "differential", "workers": 2, "round": 1, "rate": 90.0}]
    assert throughput.summarize(rows)[throughput.SCALING] is None


def test_cores_by_role_follow_each_process_while_it_lives():
    def sample(t, processes):
        return {"t": t, "processes": {pid: {"role": role, "rss": 1.0, "cpu": cpu} for pid, (role, cpu) in processes.items()}}
    samples = [sample(0, {"1": ("main", 5.0), "2": ("drivers", 10.0), "3": ("workers", 100.0)}),
               sample(30, {"1": ("main", 6.0), "2": ("drivers", 13.0), "3": ("workers", 130.0)}),
               # the worker restarted: its successor counts from its own first sample
               sample(60, {"1": ("main", 7.0), "2": ("drivers", 16.0), "4": ("workers", 20.0)}),
               sample(90, {"1": ("main", 8.0), "2": ("drivers", 19.0), "4": ("workers", 50.0)})]
    cores = throughput.cores_by_role(samples)
    assert cores == pytest.approx({"main": 3 / 90, "drivers": 9 / 90, "workers": (30 + 30) / 90})


def test_the_rate_between_shrinks_leaves_out_each_drivers_shrinking(tmp_path):
    import json as json_module
    for name, records in {"log-1-1-w1.jsonl": [{"type": "discrepancy", "shrink_s": 30.0},
                                               {"type": "occurrence", "signature": "s"},  # no shrink
                                               {"type": "occurrence", "shrink_s": 10.0}],
                          "log-1-1-w2.jsonl": [{"type": "example"}, {"type": "discrepancy", "shrink_s": 20.0}]}.items():
        (tmp_path / name).write_text("".join(json_module.dumps(r) + "\n" for r in records))
    shrink = throughput.shrink_seconds(str(tmp_path))
    assert shrink == {"log-1-1-w1.jsonl": 40.0, "log-1-1-w2.jsonl": 20.0}
    results = {"examples": 1000, "elapsed_s": 100.0, "shrink_s": shrink}
    assert throughput.between_shrinks(results, 2) == pytest.approx(1000 * 2 / (200 - 60))
