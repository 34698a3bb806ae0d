"""rnnconf's conformance suite: checks any implementation of the Keras 2 RNN API against the oracle.

Shared machinery (used by the fuzzer too): namespaces.py (--impl resolution), cases.py (a case as
plain data), execute.py (running a case), compare.py (the one comparison), custom_cells.py.
"""
