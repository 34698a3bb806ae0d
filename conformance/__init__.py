"""rnnconf's conformance suite: checks any implementation of the Keras 2 RNN API against the oracle.

test_<chapter>.py  one module per chapter of the contract (spec/clauses.md), each test tagged with
                   clause IDs; conftest.py the options (--impl, --oracle, --xfail, --known) and the clause report
helpers.py, grids.py  what the tests share: running a pair of targets, the flag and mask grids
error_triggers.py  the error paths' direct triggers; cell_probes.py cells built by hand: functions of a
                   target, run where its namespace lives (target.call), importable without pytest
spec/              the contract: its Markdown and clauses.py, its data
What runs and judges a case is the engine (rnnconf.engine), shared with the fuzzer.
"""
