"""The fuzzer finds forward-exact, gradient-wrong bugs: each planted target of tests/fuzz_targets/grad_*
(the reference with a bug in its backward pass only) is found by a campaign that differentiates every
drawn case, blamed on its GRAD clause only, and shrunk to a small case."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conformance import gradients
from conformance.cases import normalize
from conformance.results import Results, merge_shards
from hypothesis import settings

from fuzz import differential, driver, strategies
from fuzz.logs import LogTail, example_record
from rnnconf import cli

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _importable_targets(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("RNNCONF_GRADIENT_EVERY", "1")


@pytest.mark.parametrize("target, clause", [
    ("grad_state_cut", "GRAD-01"),
    ("grad_weight_scaled", "GRAD-02"),
    ("grad_mask_leak", "GRAD-05"),
    ("grad_float32", "GRAD-10"),
])
def test_the_fuzzer_finds_a_gradient_bug_on_its_grad_clause(tmp_path, target, clause):
    argv = ["check", "--impl", f"fuzz_targets.{target}", "--oracle", "reference", "--out", str(tmp_path),
            "--skip-suite", "--workers", "1", "--no-progress", "--seed", "1", "--max-examples", "300",
            "--variants", "1", "--fail-fast"]
    assert cli.main(argv) == 1
    data = json.loads((tmp_path / "results.json").read_text())
    (found,) = data["discrepancies"]
    assert found["fingerprint"]["core"].startswith("gradient of the"), found["fingerprint"]
    assert "gradients" in found["fingerprint"]["features"]
    assert clause in found["clauses"] and all(c.startswith("GRAD-") for c in found["clauses"]), found["clauses"]
    assert data["clauses"][clause]["failures"] >= 1
    assert data["gradient_checks"]["fail"] >= 1 and data["gradient_checks"]["examples"] >= 1
    assert normalize(found["config"])["batch"] <= 2 and len(found["config"]["cells"]) == 1, found["config"]
    script = (tmp_path / found["repro"]).read_text()
    assert "differentiate(" in script


def test_gradients_are_counted_at_the_configured_rate_whatever_hypothesis_draws(monkeypatch):
    monkeypatch.setenv("RNNCONF_GRADIENT_EVERY", "8")
    drawn = strategies.draw_examples(strategies.valid_cases(), 400, seed=3)
    eligible = [c for c in drawn if strategies.differentiable(c)]
    assert sum(bool(c.get("gradients")) for c in drawn) == len(eligible) // 8
    assert not any(c.get("gradients") and c.get("embedding") for c in drawn)
    # A campaign round's cases (one Hypothesis run, which mutates its earlier examples) get their share too.
    turns, round_cases = strategies.GradientTurns(), []
    seeded = settings(settings.get_profile("rnnconf-campaign"), database=None, max_examples=40)
    driver._seed_hypothesis(driver.round_seed(11, (1, 1), (1, 1), 1))
    seeded(driver.make_case_test(lambda case: round_cases.append(turns(case))))()
    assert sum(bool(c.get("gradients")) for c in round_cases) == turns.differentiable // 8 >= 3
    monkeypatch.setenv("RNNCONF_GRADIENT_EVERY", "0")
    assert not any(c.get("gradients") for c in strategies.draw_examples(strategies.valid_cases(), 100, seed=3))
    monkeypatch.setenv("RNNCONF_GRADIENT_EVERY", "1")
    assert all(bool(c.get("gradients")) == strategies.differentiable(c)
               for c in strategies.draw_examples(strategies.valid_cases(), 100, seed=3))


def test_a_gradient_only_failure_is_blamed_on_grad_clauses_only():
    from conformance.compare import Mismatch
    clauses = ["CELL-03", "FLAG-03", "GRAD-01", "GRAD-06"]
    assert gradients.blamed(clauses, [Mismatch("value", 0, "d inputs", "")]) == ["GRAD-01", "GRAD-06"]
    assert gradients.blamed(clauses, [Mismatch("value", 0, "output", ""),
                                      Mismatch("value", 0, "d inputs", "")]) == clauses


def test_results_count_the_fuzzers_gradient_checks_per_outcome(tmp_path):
    case = {"cells": [{"kind": "simple", "units": 2}], "timesteps": 3}
    grad = dict(case, gradients=True)
    verdicts = [differential.verdict(grad, ["CALL-01", "GRAD-01", "GRAD-02"]),
                differential.verdict(grad, ["CALL-01", "GRAD-01", "GRAD-02"]),
                differential.verdict(grad, ["GRAD-01"], inconclusive=True),
                differential.verdict(grad, ["GRAD-01", "GRAD-02"], inconclusive=True, side="oracle"),
                differential.verdict(grad, ["GRAD-01", "GRAD-02"], kind="value"),
                differential.verdict(grad, ["GRAD-01"], unsupported=True, detail="no hook"),
                differential.verdict(case, ["CALL-01"]),  # forward only: not a gradient check
                differential.verdict(case, ["CALL-01"], inconclusive=True)]
    lines = [json.dumps(dict(example_record(v, n, 0, n), type="example")) for n, v in enumerate(verdicts, 1)]
    (tmp_path / "log-1-1-w1.jsonl").write_text("\n".join(lines) + "\n")
    data = Results("reference", "tf_keras").merge_fuzz(LogTail(str(tmp_path)).poll())
    assert data["examples"] == 8
    assert data["gradient_checks"] == {"examples": 6, "pass": 2, "inconclusive": 1, "oracle_failure": 1,
                                       "fail": 1, "unsupported": 1}
    assert merge_shards([data, data])["gradient_checks"]["inconclusive"] == 2


def test_inputs_reversed_in_time_are_a_contiguous_array():
    """torch (Keras 3 on torch) refuses NumPy views with negative strides: go_backwards' metamorphic
    gradient check feeds it reversed inputs."""
    from conformance.cases import inputs_for
    case = normalize({"cells": [{"kind": "gru", "units": 3}], "timesteps": 5, "features": [4], "seed": 3})
    x, reversed_x = inputs_for(case, 0), inputs_for(dict(case, reverse_inputs=True), 0)
    assert reversed_x.flags["C_CONTIGUOUS"] and all(s > 0 for s in reversed_x.strides)
    np.testing.assert_array_equal(reversed_x, x[:, ::-1])
