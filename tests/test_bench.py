"""bench/throughput.py's arithmetic (the benchmark itself is run by hand: `make bench`)."""
import sys
from pathlib import Path

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
