"""Where the oracle (tf_keras 2.21) contradicts its own API page: the one list of them.

rnnconf follows the oracle (the reference copies each behaviour on purpose) and reports these as
"oracle deviations". Each entry's `repro` is standalone code that asserts the deviating behaviour;
tests/test_deviations.py runs every repro, so an upstream fix makes that test fail and this list
gets revisited instead of rotting.
"""

_PRELUDE = """\
import os
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow as tf
import tf_keras as keras
rng = np.random.default_rng(0)
"""

DEVIATIONS = [
    {
        "id": "DEV-unroll-backwards-zero-mask",
        "clauses": ["FLAG-05", "FLAG-03", "FLAG-07"],
        "page": "unroll: the unrolled and the symbolic loop compute the same thing; go_backwards returns the "
                "reversed sequence; zero_output_for_mask zeroes the masked timesteps.",
        "oracle": "With unroll=True, go_backwards=True, zero_output_for_mask=True and a mask, the unrolled "
                  "path (backend.rnn) zeroes the reversed output sequence with the mask in input order, so "
                  "it zeroes the wrong timesteps and differs from unroll=False (a known upstream bug).",
        "repro": _PRELUDE + """\
x = rng.normal(size=(1, 4, 2)).astype("float32")
mask = np.array([[True, True, True, False]])
outs = []
for unroll in (False, True):
    layer = keras.layers.SimpleRNN(3, unroll=unroll, go_backwards=True, return_sequences=True,
                                   zero_output_for_mask=True)
    layer(x)
    layer.set_weights([np.full(w.shape, 0.3, "float32") for w in layer.get_weights()])
    outs.append(layer(x, mask=mask).numpy()[0])
loop, unrolled = outs
# Processing order is t=3,2,1,0 and t=3 is masked: output row 0 is that step, so the loop path zeroes
# row 0 only. The unrolled path also zeroes row 3 (input t=0, unmasked) by reading the mask in input order.
assert np.all(loop[0] == 0) and np.all(loop[3] != 0)
assert np.all(unrolled[3] == 0)
print("loop:", loop.round(3).tolist()); print("unrolled:", unrolled.round(3).tolist())
""",
    },
    {
        "id": "DEV-unroll-zero-mask-last-output",
        "clauses": ["FLAG-05", "FLAG-07"],
        "page": "unroll: the unrolled and the symbolic loop compute the same thing; zero_output_for_mask "
                "only matters with return_sequences.",
        "oracle": "With unroll=True, zero_output_for_mask=True, a mask and return_sequences=False (more "
                  "than one timestep), the unrolled path raises ValueError (\"Tensor's shape (T, B, units) "
                  "is not compatible with supplied shape (1, B, units)\"): it masks the one kept output "
                  "with the whole mask. unroll=False returns the last output.",
        "repro": _PRELUDE + """\
x = rng.normal(size=(2, 3, 3)).astype("float32")
mask = np.ones((2, 3), bool)
loop = keras.layers.SimpleRNN(2, zero_output_for_mask=True)
print("unroll=False:", loop(x, mask=mask).shape)
try:
    keras.layers.SimpleRNN(2, unroll=True, zero_output_for_mask=True)(x, mask=mask)
except ValueError as e:
    assert "is not compatible with supplied shape" in str(e), str(e)
    print("unroll=True raises:", str(e).split(chr(10))[2])
else:
    raise AssertionError("deviation gone: unroll with zero_output_for_mask returns the last output")
""",
    },
    {
        "id": "DEV-time-major-mask",
        "clauses": ["CALL-02", "FLAG-06"],
        "page": "mask: binary tensor of shape [batch_size, timesteps].",
        "oracle": "With time_major=True the oracle takes the mask as [timesteps, batch_size]; a "
                  "[batch_size, timesteps] mask raises (or is misread when batch == timesteps).",
        "repro": _PRELUDE + """\
x = rng.normal(size=(3, 2, 4)).astype("float32")  # (timesteps=3, batch=2, features)
layer = keras.layers.SimpleRNN(2, time_major=True)
layer(x, mask=np.ones((3, 2), bool))  # [timesteps, batch]: accepted
try:
    layer(x, mask=np.ones((2, 3), bool))  # [batch, timesteps], as documented
except (tf.errors.InvalidArgumentError, ValueError) as e:
    print("documented mask layout rejected:", type(e).__name__)
else:
    raise AssertionError("deviation gone: a [batch, timesteps] mask is accepted with time_major")
""",
    },
    {
        "id": "DEV-zero-output-last-step",
        "clauses": ["FLAG-07", "FLAG-01"],
        "page": "zero_output_for_mask: this field is only used when return_sequences is True and mask is "
                "provided.",
        "oracle": "With return_sequences=False the flag still matters: the returned last output is zeros "
                  "for a sample whose last processed timestep is masked (instead of its last unmasked "
                  "output).",
        "repro": _PRELUDE + """\
x = rng.normal(size=(1, 3, 2)).astype("float32")
mask = np.array([[True, True, False]])
results = []
for flag in (False, True):
    layer = keras.layers.SimpleRNN(2, zero_output_for_mask=flag)
    layer(x)
    layer.set_weights([np.full(w.shape, 0.3, "float32") for w in layer.get_weights()])
    results.append(layer(x, mask=mask).numpy())
assert np.all(results[0] != 0) and np.all(results[1] == 0)
print("flag off:", results[0], "flag on:", results[1])
""",
    },
    {
        "id": "DEV-reset-states-dtype",
        "clauses": ["STATE-07", "STATE-04"],
        "page": "reset_states raises ValueError when the input numpy array is not compatible with the RNN "
                "layer state, either size wise or dtype wise.",
        "oracle": "Only the shape is checked; arrays of another dtype (int32, float64) are cast silently.",
        "repro": _PRELUDE + """\
layer = keras.layers.SimpleRNN(2, stateful=True)
layer(np.ones((2, 3, 4), "float32"))
layer.reset_states([np.ones((2, 2), dtype="int32")])  # no ValueError
assert layer.states[0].dtype == tf.float32
print("int32 states accepted and cast to", layer.states[0].dtype.name)
""",
    },
    {
        "id": "DEV-stateful-initial-state",
        "clauses": ["CALL-04", "FLAG-04"],
        "page": "initial_state: list of initial state tensors to be passed to the first call of the cell.",
        "oracle": "On a stateful layer, initial_state is used only while the recorded states are all zero; "
                  "once they are not, it is silently ignored in favour of the recorded states.",
        "repro": _PRELUDE + """\
layer = keras.layers.SimpleRNN(2, stateful=True)
x = np.ones((1, 3, 2), "float32")
layer(x)  # states are now non-zero
s = tf.constant(np.full((1, 2), 5.0, "float32"))
kept = layer.states[0].numpy().copy()
with_init = layer(x, initial_state=[s]).numpy()
layer.reset_states([kept])
without = layer(x).numpy()
assert np.allclose(with_init, without)
print("initial_state ignored on a stateful layer with non-zero states")
""",
    },
    {
        "id": "DEV-empty-initial-state",
        "clauses": ["CALL-04", "INIT-01"],
        "page": "initial_state: list of initial state tensors to be passed to the first call of the cell.",
        "oracle": "An empty list (or tuple) is refused on the first call (ERR-04) but silently ignored on a "
                  "built layer: no tensor in it, it is taken for a list of Keras tensors and appended to the "
                  "inputs, so the call runs from zeros (or a stateful layer's recorded states). Removing the "
                  "appended specs with `input_spec[:-0]` then empties the layer's input_spec: later calls skip "
                  "their input checks and reset_states() raises IndexError.",
        "repro": _PRELUDE + """\
x = rng.normal(size=(2, 3, 4)).astype("float32")
layer = keras.layers.SimpleRNN(2, stateful=True)
layer(x)
layer.reset_states()
zeros_start = layer(x).numpy()
layer.reset_states()
ignored = layer(x, initial_state=[]).numpy()  # no error: treated as no initial_state at all
assert np.allclose(ignored, zeros_start)
assert layer.input_spec == []  # and the layer's input checks are gone
try:
    layer.reset_states()
except IndexError as e:
    print("reset_states after initial_state=[]:", type(e).__name__, e)
else:
    raise AssertionError("deviation gone: reset_states works after initial_state=[]")
""",
    },
    {
        "id": "DEV-stack-flat-initial-state",
        "clauses": ["CALL-04", "CELL-10"],
        "page": "initial_state: list of initial state tensors to be passed to the first call of the cell.",
        "oracle": "For a stack of cells (RNN([...])) with a cell of several states, the flat list of every state "
                  "tensor is refused (ValueError \"Layer has 2 states but was passed 4 initial states\", ERR-09): "
                  "the stack wants one entry per cell, nested like that cell's state_size.",
        "repro": _PRELUDE + """\
x = rng.normal(size=(2, 3, 4)).astype("float32")
h1, c1, h2, c2 = (tf.constant(rng.normal(size=(2, n)).astype("float32")) for n in (3, 3, 2, 2))
layer = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.LSTMCell(2)])
layer(x, initial_state=[[h1, c1], [h2, c2]])  # one entry per cell: accepted
try:
    layer(x, initial_state=[h1, c1, h2, c2])  # the documented list of the 4 state tensors
except ValueError as e:
    assert "Layer has 2 states but was passed 4 initial states" in str(e), str(e)
    print("flat list refused:", str(e).split(chr(10))[2][:80])
else:
    raise AssertionError("deviation gone: a flat list of a stack's states is accepted")
""",
    },
    {
        "id": "DEV-initial-state-nesting-mask",
        "clauses": ["CALL-04", "CALL-02", "CELL-10"],
        "page": "initial_state: list of initial state tensors; mask: which timesteps are masked.",
        "oracle": "For a stack, an initial_state nested unlike the cells' states (a tuple where a cell keeps a "
                  "list, one state wrapped in a list, states split differently between the cells) is accepted "
                  "without a mask, and the returned states (return_state) keep that nesting, but refused with a "
                  "mask: the masked loop is an eager tf.while_loop that compares its states after the first step "
                  "with those it started from (TypeError for a tuple against a list, ValueError otherwise, \"The two "
                  "structures don't have the same nested structure\"). unroll=True accepts both; a traced "
                  "(tf.function) call accepts the tuples.",
        "repro": _PRELUDE + """\
x = rng.normal(size=(2, 3, 4)).astype("float32")
mask = np.array([[True, True, False], [True, False, False]])
s1, h2, c2 = (tf.constant(rng.normal(size=(2, n)).astype("float32")) for n in (3, 2, 2))
layer = keras.layers.RNN([keras.layers.SimpleRNNCell(3), keras.layers.LSTMCell(2)], return_state=True)
for nesting in ([s1, (h2, c2)], [[s1], [h2, c2]]):  # a tuple for the LSTM, the single state in a list
    out = layer(x, initial_state=nesting)  # accepted without a mask...
    try:
        layer(x, initial_state=nesting, mask=mask)
    except (TypeError, ValueError) as e:  # ...refused with one
        assert "don't have the same nested structure" in str(e), str(e)
        print(type(e).__name__, "with a mask; returned states without one:",
              tf.nest.map_structure(lambda t: tuple(t.shape), out[1:]))
    else:
        raise AssertionError("deviation gone: the masked loop accepts " + repr(nesting))
""",
    },
    {
        "id": "DEV-traced-dropout-mask-per-step",
        "clauses": ["CALL-03", "FLAG-05"],
        "page": "training: passed to the cell when calling it, for use with cells that use dropout. "
                "DropoutRNNCellMixin (the built-in cells' dropout): it caches the masks it creates and reuses "
                "them, \"The mask should be cached across the timestep within the same batch\". unroll: the "
                "unrolled and the symbolic loop compute the same thing.",
        "oracle": "Inside a tf.function (traced, as Model.fit calls it) with unroll=False, the generic RNN "
                  "loop draws new dropout and recurrent_dropout masks at every timestep: the mask cache is "
                  "keyed by graph, and the cell is traced into the while loop's body, whose random ops run "
                  "again at each iteration. Eager calls and unroll=True keep one mask per call. With or "
                  "without a mask, for cells in a stack and for the built-in layers on the cell's path. rnnconf "
                  "samples dropout eagerly only (engine/dropout.py), so neither the reference nor the "
                  "suite follows the traced behaviour.",
        "repro": _PRELUDE + """\
tf.random.set_seed(0)
x = np.ones((4, 6, 8), "float32")

def distinct_masks(unroll, traced):
    # A linear cell, identity kernel, no recurrence: output step t is x_t times the input mask of step t.
    layer = keras.layers.RNN(keras.layers.SimpleRNNCell(8, activation=None, dropout=0.5), unroll=unroll,
                             return_sequences=True)
    layer(x)
    layer.set_weights([np.eye(8, dtype="float32"), np.zeros((8, 8), "float32"), np.zeros(8, "float32")])
    call = lambda v: layer(v, training=True)
    out = (tf.function(call, autograph=False) if traced else call)(tf.constant(x)).numpy()
    return len({out[:, t].tobytes() for t in range(out.shape[1])})

eager, traced, unrolled = distinct_masks(False, False), distinct_masks(False, True), distinct_masks(True, True)
print("distinct input masks over 6 steps: eager", eager, "traced", traced, "traced and unrolled", unrolled)
assert eager == 1 and unrolled == 1
assert traced == 6, "deviation gone: a traced call reuses one dropout mask for every timestep"
""",
    },
    {
        "id": "DEV-err15-message",
        "clauses": ["ERR-15", "STATE-07"],
        "page": "reset_states with arrays not compatible with the layer's states raises ValueError.",
        "oracle": "It does, but the message's `expected shape=` prints the state variable itself instead of "
                  "its shape. The reference prints the shape; the suite compares the class only.",
        "repro": _PRELUDE + """\
layer = keras.layers.SimpleRNN(2, stateful=True)
layer(np.ones((2, 3, 4), "float32"))
try:
    layer.reset_states(np.ones((3, 2)))
except ValueError as e:
    assert "tf.Variable" in str(e), str(e)
    print(str(e)[:160])
""",
    },
]

def clauses_with_deviations():
    out = {}
    for d in DEVIATIONS:
        for c in d["clauses"]:
            out.setdefault(c, []).append(d["id"])
    return out
