"""The contract: its Markdown (clauses.md, error-paths.md, interfaces.md, tf.keras.layers.RNN.txt) and
its data as Python: clauses.py (clause IDs and groups) and deviations.py (the oracle's deviations from
its page). It imports no other part of rnnconf.
"""
