"""reports/repro_harness.py as code: the comparison every reproducer carries, tested where it is written."""
import re

import numpy as np
import pytest

from rnnconf.reports import repro, repro_harness as h


def test_values_within_the_rounding_bound_agree_and_beyond_it_differ():
    expected = np.array([[1.0, 2.0]], np.float32)
    assert h.value_difference(expected, expected + np.float32(1e-7), steps=4) is None
    far = h.value_difference(expected, expected + np.float32(1e-2), steps=4)
    assert far is not None and far.startswith("max abs diff")
    assert h.value_difference(np.array([np.nan]), np.array([np.nan]), 1) is None


def test_values_are_not_compared_under_dropout(monkeypatch):
    monkeypatch.setattr(h, "ROUNDING_STEPS", [3])
    expected, actual = h.Steps(), h.Steps()
    expected.add(np.zeros((2, 2), np.float32))
    actual.add(np.ones((2, 2), np.float32))
    assert h.differences(expected, actual)  # values compared: they differ
    monkeypatch.setattr(h, "VALUES_COMPARED", False)
    assert h.differences(expected, actual) == []
    actual[0] = np.ones((2, 3), np.float32)  # a shape still counts
    assert h.differences(expected, actual) == ["step 0 output: expected float32[2, 2], got float32[2, 3]"]


def test_error_classes_and_the_facts_of_the_message(monkeypatch):
    oracle, same = ValueError("Layer has 1 states but was passed 2 initial states."), ValueError("1 vs 2 states")
    assert h.error_difference(0, oracle, TypeError("no")) != []
    assert h.error_difference(0, oracle, same) == []  # no catalogued facts: the class is what counts
    monkeypatch.setattr(h, "FACTS", re.compile(r"has (?P<n>\d+) states but was passed (?P<m>\d+)"))
    monkeypatch.setattr(h, "FACT_NAMES", ("n", "m"))
    assert h.error_difference(0, oracle, ValueError("expected 1 states, got 2")) == []
    missing = h.error_difference(0, oracle, ValueError("expected 3 states"))
    assert len(missing) == 1 and "does not state n='1', m='2'" in missing[0]


@pytest.mark.parametrize("distribution_only, status", [(False, 0), (True, 2)])
def test_agreeing_sides_pass_unless_only_a_distribution_could_tell(monkeypatch, capsys, distribution_only, status):
    monkeypatch.setattr(h, "DISTRIBUTION_ONLY", distribution_only)
    monkeypatch.setattr(h, "ROUNDING_STEPS", [1])
    monkeypatch.setattr(h, "namespace", lambda name: name)
    monkeypatch.setattr(h, "run", lambda layers, steps: steps.add(np.ones(2, np.float32)))
    monkeypatch.setattr("sys.argv", ["d-0001.py"])
    assert h.main() == status


def test_every_reproducer_carries_the_module_from_its_marker_on():
    text = repro._harness(custom=False, ops_needed=set())
    source = open(h.__file__).read()
    assert text.startswith(repro.HARNESS_MARKER) and source.rstrip("\n").endswith(text)
    assert "IMPL, ORACLE = " not in text  # the settings are each reproducer's own
