"""The contract and the conformance suite: checks any implementation of the Keras 2 RNN API against the oracle.

spec/              the contract: clauses.md, error-paths.md, interfaces.md, the API page; and as data,
                   clauses.py (clause IDs and groups, read from clauses.md) and deviations.py (where
                   tf_keras contradicts its page)
test_<chapter>.py  one module per chapter of clauses.md, every test tagged with clause IDs
conftest.py        --impl, --oracle, the clause report and stream, --breadth-first
helpers.py         the assertions the tests are written with (`ch`); grids.py their case grids
error_triggers.py  the error paths that need direct calls on a namespace (run through target.call)

Running and judging a case is the engine's (rnnconf.engine); reaching an implementation, the
adapters' (rnnconf.adapters).
"""
