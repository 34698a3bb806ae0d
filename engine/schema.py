"""The case schema in one table: what every stage derives its lists from.

FLAG_CLAUSES   the RNN layer's seven boolean flags (all False by default) and the clause each one
               exercises when set; FLAGS their names in the layer's argument order
CELL_KINDS     each built-in cell kind: its cell class, its layer class, and its Keras 2 constructor
               defaults (a keyword at its default is no feature and is left out of a reproducer)

cases.py (normalize, building), results.py (clause accounting), judge.py (fingerprint features),
fuzz/strategies.py (drawing) and reports/repro.py (reproducers) read these.
"""
FLAG_CLAUSES = {
    "return_sequences": "FLAG-01",
    "return_state": "FLAG-02",
    "go_backwards": "FLAG-03",
    "stateful": "FLAG-04",
    "unroll": "FLAG-05",
    "time_major": "FLAG-06",
    "zero_output_for_mask": "FLAG-07",
}
FLAGS = tuple(FLAG_CLAUSES)

_COMMON = {"activation": "tanh", "use_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0}
CELL_KINDS = {
    "simple": {"cell": "SimpleRNNCell", "layer": "SimpleRNN", "defaults": dict(_COMMON)},
    "gru": {"cell": "GRUCell", "layer": "GRU",
            "defaults": {**_COMMON, "recurrent_activation": "sigmoid", "implementation": 2, "reset_after": True}},
    "lstm": {"cell": "LSTMCell", "layer": "LSTM",
             "defaults": {**_COMMON, "recurrent_activation": "sigmoid", "implementation": 2,
                          "unit_forget_bias": True}},
}
CELL_DEFAULTS = {kind: spec["defaults"] for kind, spec in CELL_KINDS.items()}
CELL_CLASSES = {kind: spec["cell"] for kind, spec in CELL_KINDS.items()}
BUILTIN_LAYERS = {spec["layer"]: kind for kind, spec in CELL_KINDS.items()}
