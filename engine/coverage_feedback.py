"""Experimental: newly reached oracle code as feedback to the fuzzer (RNNCONF_COVERAGE_FEEDBACK=1).

The fuzz driver gives its oracle worker ORACLE_ENV; that worker then counts, after each case, the
arcs (branch pairs) of tf_keras' RNN code (oracle_coverage's files) that no earlier case of the
process reached, and answers the count with the case. The driver sums it over a drawn case's
variants and hands it to Hypothesis as `target(n, label=LABEL)`, with the target phase switched on.

The count reads coverage.py's live collector (C tracer, one set of arcs per file): coverage's public
API would write its SQLite data on every read, which costs more than a traced oracle example.
"""
import os

from . import oracle_coverage

ENV = "RNNCONF_COVERAGE_FEEDBACK"             # "1": the campaign's drivers feed new oracle arcs back
ORACLE_ENV = "RNNCONF_COVERAGE_FEEDBACK_ORACLE"  # set by a driver for its oracle worker only
LABEL = "new oracle arcs"


def enabled():
    return os.environ.get(ENV, "") not in ("", "0")


def worker_env():
    """What a driver adds to its oracle worker's environment."""
    return {ORACLE_ENV: "1"} if enabled() else {}


class NewArcs:
    """Counts the arcs of `files` (paths ending so) that `collector_data()` (file -> set of arcs, as
    coverage.py's collector keeps them) holds and no earlier call saw. The sets may be emptied between
    calls (coverage.py's save moves them to its data file): what was seen is kept here."""

    def __init__(self, collector_data, files):
        self.data, self.files = collector_data, tuple(files)
        self.seen = {}    # file -> arcs counted already
        self.sizes = {}   # file -> size of its set at the last call: an unchanged set adds nothing

    def __call__(self):
        new = 0
        for name, arcs in list(self.data().items()):
            size = len(arcs)
            if self.sizes.get(name) == size:
                continue
            self.sizes[name] = size
            if not name.endswith(self.files):
                continue
            seen = self.seen.setdefault(name, set())
            fresh = arcs - seen
            new += len(fresh)
            seen |= fresh
        return new


def start_in_worker():
    """In a worker child told ORACLE_ENV: measure tf_keras' RNN code (with --oracle-coverage's
    measurement where that is on, else without a data file) and return the counter (NewArcs) to call
    after each case; None otherwise, or where coverage.py is missing."""
    if not os.environ.get(ORACLE_ENV):
        return None
    cov = oracle_coverage.active() or oracle_coverage.start(None)
    collector = getattr(cov, "_collector", None)
    if collector is None or not isinstance(getattr(collector, "data", None), dict):
        return None
    files = [os.sep + os.path.join(*rel.split("/")) for rel in oracle_coverage.CONTRACT_FILES]
    return NewArcs(lambda: collector.data, files)
