"""The case schema in one table: what every stage derives its lists from.

FLAG_CLAUSES   the RNN layer's seven boolean flags, in its argument order, and the clause each one
               exercises when set (clauses.md); FLAGS their names, FLAG_DEFAULTS Keras 2's defaults (all False)
CELL_KINDS     each built-in cell kind: its cell class, its layer class and its Keras 2 constructor defaults
CELL_DEFAULTS  those defaults in one dict (an option at its default is no feature, and is left out of
               a layer's arguments and of a reproducer)

cases.py (normalize, building), exercised.py (clause accounting), judge.py (fingerprint features),
conformance/test_flags.py (the suite's grid), fuzz/strategies.py (drawing) and the reproducers read these.
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
FLAG_DEFAULTS = dict.fromkeys(FLAGS, False)

_COMMON = {"activation": "tanh", "use_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0}
CELL_KINDS = {
    "simple": {"cell": "SimpleRNNCell", "layer": "SimpleRNN", "defaults": dict(_COMMON)},
    "gru": {"cell": "GRUCell", "layer": "GRU",
            "defaults": {**_COMMON, "recurrent_activation": "sigmoid", "implementation": 2, "reset_after": True}},
    "lstm": {"cell": "LSTMCell", "layer": "LSTM",
             "defaults": {**_COMMON, "recurrent_activation": "sigmoid", "implementation": 2,
                          "unit_forget_bias": True}},
}
# An option appears in a case only for the kinds that take it, so one dict serves every kind.
CELL_DEFAULTS = {key: value for spec in CELL_KINDS.values() for key, value in spec["defaults"].items()}
CELL_CLASSES = {kind: spec["cell"] for kind, spec in CELL_KINDS.items()}
BUILTIN_LAYERS = {spec["layer"]: kind for kind, spec in CELL_KINDS.items()}
LAYER_OF_KIND = {kind: spec["layer"] for kind, spec in CELL_KINDS.items()}
