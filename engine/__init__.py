"""What runs a case and judges it: the engine the suite, the fuzzer and the reproducers share.

schema.py          the case schema in one table: the flags and their clauses, the cell kinds and their defaults
cases.py           a case as plain JSON-able data (DEFAULTS, normalize) and how to build it on a Target
custom_cells.py    the suite's custom cells, written once for every framework
execute.py         running a case on a Target: an outcome of NumPy results and errors (Session reuses layers)
sampling.py        a stochastic case run many times a side (dropout while training)
compare.py         the one comparison of two outcomes (tolerances, the float64 recheck)
dropout.py         dropout's statistics: masks, rates and scaling judged on samples
gradients.py       the shared loss and its gradients (gradients.md), the gradient hooks' contract;
                   fixed_masks.py the GRAD-09 check of gradients under dropout, inside one implementation
judge.py           the one verdict of a case and its fingerprint, for the suite, the fuzzer and the reproducers
                   (signatures.py: a fingerprint as one string, and how two relate)
deviations.py      where the oracle contradicts its page (deviation_scopes.py: which cases lie inside each)
features.py        a case's features (its non-default parts) and the cases like it without one of them
known_differences.py, known_issues.py  an implementation's documented differences; --xfail files
capabilities.py    what an implementation lacks (unsupported, not failed)
error_catalog.py   the oracle's error paths (error-paths.md): triggers and the facts of their messages
exercised.py       which clauses a case exercises; results.py the clause accounting of a run (suite, fuzzer,
                   shards); root_causes.py its discrepancies and failures grouped by cause
oracle_coverage.py which lines of tf_keras a check reaches (oracle_error_paths.py, oracle_unreachable.py)
"""
