"""Run a selection of the conformance suite on several implementations in one process (TensorFlow
is imported once) and write each test's outcome as JSON:

    python -m tests.wrapped_impls.suite_outcomes OUT.json IMPL [IMPL ...] -- PYTEST_ARGS

OUT.json: {impl: {nodeid: {"outcome": passed|failed|unsupported|inconclusive|skipped or a status of
judge.NOT_FAILING (lenient, oracle-deviation), "clauses": [...]}}}.
"""
import json
import sys

import pytest

from rnnconf.conformance.conftest import skip_status


class Outcomes:
    """Each test's outcome, as conformance/conftest.py counts it (a skip naming "unsupported:" or
    "inconclusive:" is one)."""

    def __init__(self):
        self.tests = {}

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and (report.when != "setup" or report.passed):
            return
        if report.passed:
            outcome = "passed"
        elif report.failed:
            outcome = "failed"
        elif skip_status(report):
            outcome = skip_status(report)
        else:
            reason = str(report.longrepr)
            outcome = ("unsupported" if "unsupported:" in reason else
                       "inconclusive" if "inconclusive:" in reason else "skipped")
        self.tests[report.nodeid] = {"outcome": outcome, "clauses": dict(report.user_properties).get("clauses", [])}


def main(argv):
    split = argv.index("--")
    out, impls, pytest_args = argv[0], argv[1:split], argv[split + 1:]
    results = {}
    for impl in impls:
        outcomes = Outcomes()
        status = pytest.main([*pytest_args, "-q", "-p", "no:cacheprovider", "-p", "no:xdist", f"--impl={impl}"],
                             plugins=[outcomes])
        if status not in (0, 1) or not outcomes.tests:
            print(f"suite_outcomes: pytest exited {status} for {impl}", file=sys.stderr)
            return 2
        results[impl] = outcomes.tests
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
