"""What runs a case and judges it: the one engine of the suite, the fuzzer and the reproducers.

schema.py        the case schema in one table: the flags and their clauses, the cell kinds and their defaults
cases.py         a case as plain JSON-able data (DEFAULTS, normalize) and how to build it on a Target
custom_cells.py  the suite's custom cells, written once for every framework
execute.py       running a case on a Target: an outcome of NumPy results and errors (Session reuses layers)
compare.py       the one comparison of two outcomes: Mismatches with float tolerances
dropout.py       dropout while training, judged by its distribution (two-sample tests)
error_catalog.py the oracle's error paths ERR-01..ERR-47 as data: classify an error, match its facts
capabilities.py  "the implementation lacks this feature" told apart from "it gets it wrong"
judge.py         the one verdict: pass, unsupported, inconclusive or a discrepancy with its fingerprint
results.py       results.json: all clause accounting, for the suite, the fuzzer and shards

It imports the contract (rnnconf.conformance.spec) and nothing else of rnnconf.
"""
