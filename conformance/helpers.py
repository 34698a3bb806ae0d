"""Assertions the suite's tests are written with (imported as `ch`): differential and contract checks.

    ch.assert_conforms(impl_target, oracle_target, case)   # same results/errors as the oracle
    ch.outcome_of(impl_target, case)                        # the implementation's own outcome

A failure message ends with a copy-pasteable snippet that replays the case.
"""
import json
import pprint

import numpy as np
import pytest

from . import capabilities, compare, execute, judge, known_differences
from .cases import minimal, normalize


def snippet(case, impl_name, oracle_name):
    return (
        "from conformance import judge, namespaces\n"
        f"case = {pprint.pformat(minimal(case), width=100, sort_dicts=False)}\n"
        f"impl, oracle = namespaces.resolve({impl_name!r}), namespaces.resolve({oracle_name!r})\n"
        "expected, actual, verdict = judge.run_and_judge(impl, oracle, case)\n"
        "print(verdict['status'], verdict['detail'])\n"
        "for m in verdict['mismatches']: print(m.kind, m.step, m.path, m.detail)\n")


def run_pair(impl, oracle, case):
    """(oracle outcome, implementation outcome, judgement) for one case (conformance.judge), with the
    implementation's known differences (conftest's --known)."""
    return judge.run_and_judge(impl, oracle, case, known=KNOWN)


first_error = judge.first_error


# The margins of the current test's passing comparisons (conftest attaches them to its report).
PASSED_MARGINS = []
# The known differences of the implementation under test (conftest's --known), and the ones the current
# test's checks matched (conftest attaches them to its report).
KNOWN = []
MATCHED_DIFFERENCES = []
# How the current test checked its clauses where a clause can be checked more than one way (GRAD-09:
# with fixed masks or by distribution): short lines, counted per clause in the report.
CHECK_NOTES = []


def note_check(way):
    """Say in the report how this test checked its clauses and how that went (conftest attaches the
    line to the test's report, whatever its outcome)."""
    CHECK_NOTES.append(way)


def record_verdict(status, detail):
    """End the test with a status that differs from the oracle without failing (judge.NOT_FAILING):
    a skip whose reason starts with the status, which conftest counts as that status for the test's
    clauses (as it counts "unsupported:" and "inconclusive:")."""
    assert status in judge.NOT_FAILING, status
    pytest.skip(f"{status}: {detail}")


def assert_conforms(impl, oracle, case):
    expected, actual, verdict = run_pair(impl, oracle, case)
    conclude(impl, oracle, case, verdict)
    return expected, actual


def conclude(impl, oracle, case, verdict):
    """End the current test as conformance.judge's verdict on `case` says: pass (its margin kept),
    a status that does not fail, unsupported, inconclusive, or a failure with its replay snippet."""
    if verdict["status"] == "pass" and verdict["margin"]:
        PASSED_MARGINS.append(verdict["margin"])
    skip_if_by_design(verdict)  # a NOT_FAILING status that carries its known difference to the report
    if verdict["status"] in judge.NOT_FAILING:
        record_verdict(verdict["status"], f"{impl.name}: {verdict['detail']}")
    if verdict["status"] == "unsupported":
        pytest.skip(f"unsupported: {impl.name} {verdict['detail']}")
    if verdict["status"] == "inconclusive":
        pytest.skip(f"inconclusive: {verdict['detail']}")
    if verdict["status"] == "fail":
        lines = [f"{m.kind} at step {m.step} {m.path}: {m.detail}" for m in verdict["mismatches"][:8]]
        pytest.fail(f"{impl.name} differs from {oracle.name}:\n  " + "\n  ".join(lines)
                    + "\n\nReproduce with:\n" + snippet(case, impl.name, oracle.name), pytrace=False)


def skip_if_by_design(verdict):
    """A failure a known difference of the implementation accounts for ends the test as
    differs-by-design (conftest counts it so, with the difference attached to its report)."""
    if verdict["status"] != known_differences.STATUS:
        return
    d = verdict["difference"]
    MATCHED_DIFFERENCES.append(dict(d, kind=verdict["kind"], detail=verdict["detail"]))
    pytest.skip(f"{known_differences.STATUS}: {d['note'] or d['entry']} ({d['url']}); "
                f"{verdict['kind']} at {verdict['detail'][:300]}")


def outcome_of(target, case):
    """The implementation's own outcome; skips as unsupported when it lacks a feature the case needs, and as
    differs-by-design where a known difference accounts for its error (the implementation raises
    here, and, where the entry says `without`, not without that feature)."""
    outcome = execute.run(target, case)
    err = first_error(outcome)
    if err:
        missing = capabilities.missing_feature(target.has, normalize(case), err)
        if missing:
            pytest.skip(f"unsupported: {target.name} lacks {missing}")
        if KNOWN:  # every caller passes the implementation under test
            fp = {"kind": "error", "features": judge.features(case),
                  "core": f"the implementation raises {err['type']} ({judge.message_shape(err['message'])}), "
                          "the oracle nothing"}
            verdict = {"status": "fail", "kind": "error", "detail": f"{err['type']}: {err['message'][:300]}",
                       "fingerprint": fp}
            skip_if_by_design(known_differences.by_design(
                verdict, normalize(case), KNOWN, lambda c: first_error(execute.run(target, c)) is None))
        pytest.fail(f"{target.name} raised {err['type']}: {err['message'][:500]}\n\nCase:\n"
                    + json.dumps(minimal(case), indent=1), pytrace=False)
    return outcome


def flatten(nest):
    if isinstance(nest, list):
        return [leaf for item in nest for leaf in flatten(item)]
    return [nest]


def results(outcome, step=0):
    return outcome["steps"][step]["result"]


def assert_close(actual, expected, case, what):
    """Contract checks inside one implementation (metamorphic tests), with compare's tolerance."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bound = compare.tolerance(actual.dtype, compare.recurrent_steps(normalize(case)), expected.astype(np.float64))
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    assert (diff <= bound).all(), f"{what}: max abs diff {diff.max():.3g} over tolerance"
