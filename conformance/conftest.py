"""The suite's pytest plumbing: which implementation, clause markers, and the clause report.

Options (environment fallbacks for CI): --impl NAME (RNNCONF_IMPL, default "reference"),
--oracle NAME (RNNCONF_ORACLE, default "tf_keras"), --xfail FILE (clause IDs or kinds accepted as
failing), --clause-report PATH (per-clause JSON for `rnnconf check`), --list-clauses PATH (write the
clause IDs the collected tests carry, for the coverage check).

Every test carries `@pytest.mark.clauses("FLAG-03", ...)`. A test skipped with a reason starting
"unsupported:" counts its clauses as unsupported, not failed; "inconclusive:" as inconclusive
(conformance.judge), never passed; one naming a status of judge.NOT_FAILING ("lenient:",
"oracle-deviation:", helpers.record_verdict) as that status: reported, not failed.
"""
import json
import os
import time
import warnings
from pathlib import Path

import pytest

from conformance import helpers, known_differences, namespaces
from conformance.judge import NOT_FAILING
from conformance.clauses import ALL_IDS
from conformance.results import MarginTally


def pytest_addoption(parser):
    group = parser.getgroup("rnnconf")
    group.addoption("--impl", default=os.environ.get("RNNCONF_IMPL", "reference"),
                    help="implementation under test: reference, tf_keras, keras3, a module path or module:attr")
    group.addoption("--impl-python", default=os.environ.get("RNNCONF_IMPL_PYTHON"), metavar="PATH",
                    help="run --impl with this interpreter (its own environment), in a worker process")
    group.addoption("--oracle", default=os.environ.get("RNNCONF_ORACLE", "tf_keras"), help="the oracle")
    group.addoption("--xfail", default=os.environ.get("RNNCONF_XFAIL"),
                    help="file of clause IDs (one per line, # comments) accepted as failing")
    group.addoption("--known", default=os.environ.get("RNNCONF_KNOWN"), metavar="FILE",
                    help="known differences of the implementation (conformance/known_differences.py): a "
                         "failure one accounts for counts as differs-by-design, not as a failure")
    group.addoption("--clause-report", default=None, help="write per-clause counts as JSON here")
    group.addoption("--list-clauses", default=None, help="write the clause IDs of collected tests here")
    group.addoption("--clause-stream", default=None,
                    help="append one JSON line per finished test here, as the run goes (rnnconf check)")
    group.addoption("--breadth-first", action="store_true",
                    help="run one example of every test function before the rest (fail fast on any bug)")
    group.addoption("--first-of-each", action="store_true",
                    help="run only the first example of every test function per set of clauses it checks "
                         "(every clause, in a short budget)")


def clause_ids(item):
    ids = []
    for mark in item.iter_markers("clauses"):
        ids.extend(mark.args)
    return ids


def read_xfail_file(path):
    entries = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.append(line)
    return entries


def pytest_collection_modifyitems(config, items):
    unknown = sorted({c for item in items for c in clause_ids(item)} - set(ALL_IDS))
    if unknown:
        raise pytest.UsageError(f"tests carry clause IDs that clauses.md does not define: {unknown}")
    if config.getoption("first_of_each"):
        first = first_of_each(items)
        config.hook.pytest_deselected(items=[item for item in items if item not in first])
        items[:] = first
    listed = config.getoption("list_clauses")
    if listed:
        Path(listed).write_text(json.dumps(sorted({c for item in items for c in clause_ids(item)})))
    xfail_path = config.getoption("xfail")
    if xfail_path:
        entries = set(read_xfail_file(xfail_path))
        used = set()
        for item in items:
            hit = entries & set(clause_ids(item))
            if hit:
                used |= hit
                item.add_marker(pytest.mark.xfail(reason=f"accepted in {xfail_path}: {sorted(hit)}", strict=False))
        for stale in sorted(entries - used):
            warnings.warn(f"--xfail entry {stale!r} in {xfail_path} matches no test", stacklevel=1)
    for item in items:
        item.user_properties.append(("clauses", clause_ids(item)))
    if config.getoption("breadth_first"):
        items[:] = breadth_first(items)


def first_of_each(items):
    """The first example of every test function for every set of clauses it checks: each test
    function runs, and each clause any test carries is checked. A test marked `every_example` runs
    all its parametrizations (each reaches a path of the oracle's code of its own)."""
    seen, out = set(), []
    for item in items:
        key = (item.nodeid if item.get_closest_marker("every_example") else item.nodeid.split("[", 1)[0],
               tuple(sorted(clause_ids(item))))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def breadth_first(items):
    """The items with the first parametrization of every test function first (in file order), then
    the others: every area of the contract is checked within the first few seconds."""
    seen, first, rest = set(), [], []
    for item in items:
        function = item.nodeid.split("[", 1)[0]
        (rest if function in seen else first).append(item)
        seen.add(function)
    return first + rest


def _resolve(pytestconfig, option):
    python = pytestconfig.getoption("impl_python") if option == "impl" else None
    try:
        return namespaces.resolve(pytestconfig.getoption(option), python=python)
    except namespaces.SetupError as e:
        pytest.exit(str(e), returncode=2)


@pytest.fixture(scope="session")
def impl_target(pytestconfig):
    return _resolve(pytestconfig, "impl")


@pytest.fixture(scope="session")
def oracle_target(pytestconfig):
    return _resolve(pytestconfig, "oracle")


class ClauseTally:
    """Per-clause counts over the run (on the xdist controller, from the workers' reports), and the
    margins of passing comparisons (results.MarginTally)."""

    def __init__(self):
        self.counts = {cid: {"checks": 0, "failures": 0, "unsupported": 0, "inconclusive": 0} for cid in ALL_IDS}
        self.failed_tests = []
        self.not_failing_tests = []  # tests judged one of NOT_FAILING: {"test", "clauses", "status", "detail"}
        self.by_design_tests = []  # of those, the ones a known difference accounts for, with its entries
        self.margins = MarginTally()
        self.check_notes = {}  # clause -> {how a test checked it (helpers.note_check): tests}

    def add(self, report):
        ids = dict(report.user_properties).get("clauses", [])
        if report.when == "call" or (report.when == "setup" and not report.passed):
            named = skip_status(report)
            unsupported = report.skipped and not named and "unsupported:" in str(report.longrepr)
            inconclusive = report.skipped and not named and "inconclusive:" in str(report.longrepr)
            if report.skipped and not (named or unsupported or inconclusive) and not hasattr(report, "wasxfail"):
                return
            if named:
                self.not_failing_tests.append({"test": report.nodeid, "clauses": ids, "status": named,
                                               "detail": skip_reason(report)[len(named) + 1:].strip()[:1000]})
            for cid in ids:
                entry = self.counts[cid]
                entry["checks"] += 1
                if named:
                    entry[named] = entry.get(named, 0) + 1
                elif unsupported:
                    entry["unsupported"] += 1
                elif inconclusive:
                    entry["inconclusive"] += 1
                elif report.failed:
                    entry["failures"] += 1
            for note in dict(report.user_properties).get("check_notes", []):
                for cid in ids:
                    notes = self.check_notes.setdefault(cid, {})
                    notes[note] = notes.get(note, 0) + 1
            if report.passed:
                for margin in dict(report.user_properties).get("margins", []):
                    self.margins.add(ids, margin)
            if report.failed:
                self.failed_tests.append({"test": report.nodeid, "clauses": ids,
                                          "message": str(report.longrepr)[-3000:]})
            if named == known_differences.STATUS:
                self.by_design_tests.append({"test": report.nodeid, "clauses": ids,
                                             "differences": dict(report.user_properties).get("differences", [])})


_TALLY = ClauseTally()


def skip_reason(report):
    """The reason of a skipped test's report ("" for others)."""
    if not report.skipped:
        return ""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def skip_status(report):
    """The judge.NOT_FAILING status a skipped test was judged (its reason's prefix), or None."""
    reason = skip_reason(report)
    return next((status for status in NOT_FAILING if reason.startswith(f"{status}:")), None)


def pytest_configure(config):
    # Registered here too: an installed rnnconf runs this suite without the checkout's pyproject.toml.
    config.addinivalue_line("markers", "clauses(*ids): contract clause IDs the test verifies")
    config.addinivalue_line("markers", "oracle: needs the tf_keras oracle")
    config.addinivalue_line("markers", "every_example: the quick suite (--first-of-each) runs every parametrization")
    config._rnnconf_tally = _TALLY
    known = config.getoption("known", None)
    if known:
        try:
            helpers.KNOWN[:] = known_differences.read(known)
        except known_differences.KnownDifferencesError as e:
            raise pytest.UsageError(str(e)) from None
    if not hasattr(config, "workerinput"):  # the controller writes the stream
        _STREAM["path"] = config.getoption("clause_stream")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The test's passing comparisons' margins travel with its report (xdist workers included)."""
    if call.when == "setup":
        helpers.PASSED_MARGINS.clear()
        helpers.MATCHED_DIFFERENCES.clear()
        helpers.CHECK_NOTES.clear()
    outcome = yield
    if call.when == "call" and helpers.PASSED_MARGINS:
        outcome.get_result().user_properties.append(("margins", list(helpers.PASSED_MARGINS)))
        helpers.PASSED_MARGINS.clear()
    if call.when == "call" and helpers.MATCHED_DIFFERENCES:
        outcome.get_result().user_properties.append(("differences", list(helpers.MATCHED_DIFFERENCES)))
        helpers.MATCHED_DIFFERENCES.clear()
    if call.when == "call" and helpers.CHECK_NOTES:
        outcome.get_result().user_properties.append(("check_notes", list(helpers.CHECK_NOTES)))
        helpers.CHECK_NOTES.clear()


def pytest_runtest_logreport(report):
    _TALLY.add(report)
    stream = _STREAM.get("path")
    if stream and (report.when == "call" or (report.when == "setup" and not report.passed)):
        with open(stream, "a") as f:
            f.write(json.dumps({"test": report.nodeid, "when": report.when, "outcome": report.outcome,
                                "clauses": dict(report.user_properties).get("clauses", []),
                                "t": time.time()}) + "\n")


_STREAM = {}


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes the report
        return
    path = session.config.getoption("clause_report")
    if path:
        tally = session.config._rnnconf_tally
        Path(path).write_text(json.dumps({"impl": session.config.getoption("impl"),
                                          "oracle": session.config.getoption("oracle"),
                                          "clauses": tally.counts, "failed_tests": tally.failed_tests,
                                          "by_design_tests": tally.by_design_tests,
                                          "not_failing_tests": tally.not_failing_tests,
                                          "check_notes": tally.check_notes,
                                          "margins": tally.margins.entries},
                                         indent=1))


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    tally = config._rnnconf_tally
    checked = [c for c, v in tally.counts.items() if v["checks"]]
    if not checked:
        return
    failing = sorted(c for c, v in tally.counts.items() if v["failures"])
    unsupported = sorted(c for c, v in tally.counts.items() if v["checks"] and v["unsupported"] == v["checks"])
    named = "".join(f"; {status} (not failed): {', '.join(ids)}" for status in NOT_FAILING
                    for ids in [sorted(c for c, v in tally.counts.items() if v.get(status))] if ids)
    terminalreporter.write_line(
        f"rnnconf clause coverage ({config.getoption('impl')} vs {config.getoption('oracle')}): "
        f"{len(checked)}/{len(ALL_IDS)} clauses checked; failing: {', '.join(failing) or 'none'}; "
        f"unsupported: {', '.join(unsupported) or 'none'}{named}")
