"""The recorded oracle deviations still hold (an upstream fix fails this test), and the reference
follows the oracle on each of them."""
import subprocess
import sys

import pytest

from rnnconf.conformance import helpers as ch
from rnnconf.adapters import namespaces
from rnnconf.engine.deviations import DEVIATIONS
from rnnconf.conformance.grids import case
from rnnconf.conformance.spec.clauses import ALL_IDS


@pytest.mark.parametrize("deviation", DEVIATIONS, ids=[d["id"] for d in DEVIATIONS])
def test_deviation_still_holds_in_the_oracle(deviation):
    proc = subprocess.run([sys.executable, "-c", deviation["repro"]], capture_output=True, text=True, timeout=120,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "OPENBLAS_NUM_THREADS": "1",
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, f"{deviation['id']} no longer reproduces:\n{proc.stderr[-3000:]}"


def test_deviations_name_real_clauses():
    for d in DEVIATIONS:
        assert d["clauses"] and set(d["clauses"]) <= set(ALL_IDS), d["id"]
        assert d["page"] and d["oracle"], d["id"]


# The reference copies each deviating behaviour: these cases hit them and must match the oracle.
FOLLOW_CASES = {
    "DEV-unroll-backwards-zero-mask": case("simple", "zero_mask_unroll_backwards", "right_padded"),
    "DEV-unroll-zero-mask-last-output": case("lstm", {"unroll": True, "zero_output_for_mask": True}, "all_true"),
    "DEV-time-major-mask": case("lstm", {"time_major": True, "return_sequences": True}, "holes_and_empty_row"),
    "DEV-zero-output-last-step": case("gru", "zero_mask_last", "right_padded"),
    "DEV-unroll-longer-mask": {"cells": [{"kind": "simple", "units": 2}], "timesteps": 3, "seed": 3,
                               "mask": [[1, 1, 0, 1], [1, 0, 1, 0]], "flags": {"unroll": True, "return_sequences": True}},
    "DEV-reset-states-dtype": None,  # arrays of another dtype: see test_reference.py
    "DEV-stateful-initial-state": case("simple", {"stateful": True}, steps=[
        {"op": "call"}, {"op": "call", "initial_state": True}]),
    "DEV-traced-dropout-mask-per-step": None,  # traced calls only; rnnconf samples dropout eagerly
    "DEV-fused-dropout-mask-per-step": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 3, "dropout": 0.5}],
                                        "training": True, "flags": {"return_sequences": True}, "seed": 5},
    "DEV-err15-message": case("simple", {"stateful": True}, steps=[{"op": "call"}, {"op": "reset", "states": "wrong_batch"}]),
    "DEV-empty-initial-state": case("simple", {"stateful": True}, initial_state_form="empty", steps=[
        {"op": "call"}, {"op": "call", "initial_state": True}, {"op": "reset"}]),
    "DEV-stack-flat-initial-state": case([{"kind": "lstm", "units": 3}, {"kind": "lstm", "units": 2}], "state",
                                         initial_state=True, initial_state_form="flat"),
    "DEV-initial-state-nesting-mask": case([{"kind": "simple", "units": 3}, {"kind": "lstm", "units": 2}], "state",
                                           "right_padded", initial_state=True, initial_state_form="tuple"),
    "DEV-stack-float64-gradient": case([{"kind": "simple", "units": 3}, {"kind": "gru", "units": 2}], "sequences",
                                       dtype="float64", gradients=True),
}


@pytest.fixture(scope="module")
def targets():
    return namespaces.resolve("reference"), namespaces.resolve("tf_keras")


@pytest.mark.parametrize("dev_id", [k for k, v in FOLLOW_CASES.items() if v is not None])
def test_reference_follows_the_oracle(targets, dev_id):
    ch.assert_conforms(*targets, FOLLOW_CASES[dev_id])


def test_every_deviation_has_a_follow_check():
    assert set(FOLLOW_CASES) == {d["id"] for d in DEVIATIONS}
