"""The oracle's error paths ERR-01..ERR-47 (error-paths.md) as data, shared by the suite and the fuzzer.

    classify(error, case=None) -> "ERR-xx" | None     which path an oracle error is
    facts_match(oracle_error, impl_error, err_id)      does the implementation's message say the same
    has_feature(target, feature)                       can the implementation reach a TF-only path
    REFUSALS / LIMITATIONS                             contract error or oracle limitation, and why
    ERROR_CASES / ERROR_CASE_VARIANTS                  triggers written as cases (cases.py)

`error` is the dict execute.describe_error makes ({"type", "mro", "message", "stage"}), with
tf_keras' "Exception encountered when calling layer" wrapper already removed.

How strictly an implementation's error is compared with the oracle's
--------------------------------------------------------------------
Class: must match. compare.error_class_match compares class names (or a base class of the
implementation's); TensorFlow-only classes also accept their Python meaning (compare.ERROR_EQUIVALENTS:
InvalidArgumentError ~ ValueError, OutOfRangeError ~ IndexError). Where the oracle's class is a
TensorFlow runtime error (tf.errors.OpError: ERR-38, 39, 40, 43), any refusal of another framework
stands for it (JAX's TypeError, torch's RuntimeError, tfjs' `Error`), though not another TensorFlow
runtime error nor rnnconf's own failures; its message's facts are then not compared (a TensorFlow
kernel names its own operands). ValueError, TypeError and the other Python classes stay exact.

Message: compared on facts only, never on wording. Each catalog entry's `pattern` recognises the
oracle's message; its `facts` name the pattern's groups that carry values from the user's input (the
units received, state counts, shapes, the offending keyword or cell class). facts_match takes those
values from the oracle's message and
  - if the implementation's message matches the same pattern, requires each fact to be equal;
  - otherwise requires each fact to appear in the implementation's message: its tokens, in order and
    adjacent, among the message's tokens ("expected 2 states, got 3" states both 2 and 3).
Values are compared as tokens (numbers, None and identifiers; brackets, commas, quotes and the
wrappers in _NOISE are ignored), so "(2, 5)", "[2,5]" and "TensorShape([2, 5])" are the same fact,
and so are "(None, None, 4)" and tfjs' ",,4" (a JavaScript array printed: null as nothing).
Object reprs, tensor values, generated layer names and TensorFlow decorations ("{{function_node ...}}",
"name:") are never facts; an entry without facts is compared on its class alone.
ERR-15: the oracle prints the state variable where it means its shape (deviations.py,
DEV-err15-message), so only the state index and the shape found are facts. ERR-30: the facts are the
fixed batch and the batch received, in that order (the shapes' other dimensions agree).

Paths that exist only through a TensorFlow feature, or through `constants` (which Keras 3 does not
take), carry `needs` (see FEATURES): an implementation without the feature reports them as
unsupported, not failed.
"""
import re

from . import capabilities, execute
from .cases import BUILTIN_LAYERS, normalize, unwrapped_initial_states


_TAKES_CONSTANTS = {}  # (target name, module): bool


def _takes_constants(target):
    """Whether `target` takes `constants` (Keras 3's RNN.call has none): the cell that needs them,
    given them by keyword, is not refused by the argument's name. One run per target."""
    key = (target.name, target.module)
    if key not in _TAKES_CONSTANTS:
        case = {"cells": [{"kind": "custom", "variant": "needs_constants", "units": 2}], "constants": [[2]]}
        outcome = execute.run(target, case)
        error = outcome.get("error") or next((s["error"] for s in outcome["steps"] if "error" in s), None)
        _TAKES_CONSTANTS[key] = capabilities.missing_feature(target.has, case, error) != "constants"
    return _TAKES_CONSTANTS[key]


# What a feature-dependent path needs, and how to tell whether a Target has it.
FEATURES = {
    "constants": _takes_constants,
    "tf.distribute": lambda target: target.framework == "tf_keras",
    "symbolic": lambda target: target.has("Input"),   # Keras tensors from `Input`, functional models
    "ragged": lambda target: target.framework == "tf_keras",
    "tf-tensor-type": lambda target: target.framework == "tf_keras",  # a NumPy array is not its tensor
    "AbstractRNNCell": lambda target: target.has("AbstractRNNCell"),
}

# A repr like <tf_keras.src.layers.rnn.simple_rnn.SimpleRNNCell object at 0x7f...>: the class is a fact.
_CELL = r"(?:<[\w.]*?(?P<cell>\w+) object at \w+>)?"
_UNITS = r"Received an invalid value for argument `units`, expected a positive integer, got (?P<units>.+?)\.\s*$"
_STATE_SPEC = (r"An `initial_state` was passed that is not compatible with `cell\.state_size`\. Received "
               r"`state_spec`=(?P<specs>.*?); however `cell\.state_size` is (?P<state_size>.*?)\s*$")
_INPUT_SHAPE = (r"Input (?P<index>\d+) of layer \"[^\"]*\" is incompatible with the layer: expected "
                r"shape=(?P<expected>\([^)]*\)), found shape=(?P<found>\([^)]*\))")
_DIMENSION = r"Dimension value must be integer or None or have an __index__ method, got value "
_UNEXPECTED_KW = r"\w+\.call\(\) got an unexpected keyword argument '(?P<keyword>\w+)'"
_EMPTY = r"\A\s*\Z"


def _entry(err_id, cls, pattern, facts=(), needs=None, ordered=False, shape_as_rank=False, type_as_value=False):
    """A catalogued error path. `shape_as_rank`: the path is about the input's rank, so its `shape`
    fact is stated too by a message that states that shape's rank as the one found ("found
    ndim=2": tfjs does not print the shape). `type_as_value`: its `type` fact (the type of an
    argument given) is stated too by the value it names ("got null", "got '3'")."""
    return {"id": err_id, "class": cls, "pattern": re.compile(pattern, re.S | re.M), "facts": tuple(facts),
            "needs": needs, "ordered": ordered, "shape_as_rank": shape_as_rank, "type_as_value": type_as_value}


_FOUND_RANK = re.compile(r"found ndim\s*=\s*(\d+)|received (?:an input of )?rank\s*(\d+)", re.I)


# How a value of a Python type reads where a message prints it (Python's repr or JavaScript's).
_VALUE_OF_TYPE = {"NoneType": re.compile(r"\b(?:None|null|undefined)\b"),
                  "str": re.compile(r"""'[^']*'|"[^"]*"|`[^`]*`""")}


def _states_type_by_value(message, type_name):
    """Whether `message` prints a value of Python type `type_name` (None as null, a quoted text)."""
    return bool(type_name in _VALUE_OF_TYPE and _VALUE_OF_TYPE[type_name].search(message))


def _states_rank_of(message, shape):
    """Whether `message` states the rank of `shape` (a "(4, 2)" text) as the rank found."""
    rank = len([d for d in shape.strip("()[] ").split(",") if d.strip()])
    return any(int(a or b) == rank for a, b in _FOUND_RANK.findall(message))


CATALOG = {e["id"]: e for e in [
    _entry("ERR-01", "ValueError", r"Argument `cell` should have a `call` method\. The RNN was passed: cell="
           + _CELL, ["cell"]),
    _entry("ERR-02", "ValueError", r"The RNN cell should have a `state_size` attribute \(tuple of integers, "
           r"one integer per RNN state\)\. Received: cell=" + _CELL, ["cell"]),
    _entry("ERR-03", "ValueError", r"Stateful RNNs \(created with `stateful=True`\) are not yet supported "
           r"with tf\.distribute\.Strategy", needs="tf.distribute"),
    _entry("ERR-04", "ValueError", _STATE_SPEC, ["state_size"]),
    _entry("ERR-05", "ValueError", _STATE_SPEC, ["state_size", "received"]),
    _entry("ERR-06", "ValueError", r"The initial state or constants of an RNN layer cannot be specified via "
           r"a mix of TF-Keras tensors and non-Keras tensors", needs="symbolic"),
    _entry("ERR-07", "ValueError", r"Cannot unroll a RNN if the time dimension is undefined", needs="symbolic"),
    _entry("ERR-08", "ValueError", r"RNN cell " + _CELL + r".*?does not support constants", ["cell"]),
    _entry("ERR-09", "ValueError", r"Layer has (?P<expected>\d+) states but was passed (?P<received>\d+) "
           r"initial states", ["expected", "received"]),
    _entry("ERR-10", "ValueError", r"The mask that was passed in was .*, which cannot be applied to "
           r"RaggedTensor inputs", needs="ragged"),
    _entry("ERR-11", "ValueError", r"The input received contains RaggedTensors and does not support "
           r"unrolling", needs="ragged"),
    _entry("ERR-12", "AttributeError", r"\ALayer must be stateful\.\s*\Z"),
    _entry("ERR-13", "ValueError", r"If a RNN is stateful, it needs to know its batch size"),
    _entry("ERR-14", "ValueError", r"Layer \S+ expects (?P<expected>\d+) states, but it received "
           r"(?P<received>\d+) state values", ["expected", "received"]),
    _entry("ERR-15", "ValueError", r"State (?P<index>\d+) is incompatible with layer \S+: expected shape=.*? "
           r"but found shape=(?P<found>\([^)]*\))", ["index", "found"]),
    _entry("ERR-16", "ValueError", r"All cells must have a `call` method\. Received cell without a `call` "
           r"method: " + _CELL, ["cell"]),
    _entry("ERR-17", "ValueError", r"All cells must have a `state_size` attribute\. Received cell without a "
           r"`state_size`: " + _CELL, ["cell"]),
    _entry("ERR-18", "ValueError", r"batch_size and dtype cannot be None while constructing initial state\. "
           r"Received: batch_size=(?P<batch_size>\S+), dtype=(?P<dtype>\S+?)\s*$", ["batch_size", "dtype"]),
    _entry("ERR-19", "ValueError", _UNITS, ["units"]),
    _entry("ERR-20", "ValueError", _UNITS, ["units"]),
    _entry("ERR-21", "ValueError", _UNITS, ["units"]),
    _entry("ERR-22", "ValueError", r"input_t is expected to be tensor, but got"),
    _entry("ERR-23", "ValueError", r"Unrolling requires a fixed number of timesteps", needs="symbolic"),
    _entry("ERR-24", "NotImplementedError", _EMPTY, needs="AbstractRNNCell"),
    _entry("ERR-25", "ValueError", r"Unexpectedly found an instance of type `?<class '[\w.]+'>`?\. Expected a "
           r"symbolic tensor instance", needs="tf-tensor-type"),
    _entry("ERR-26", "AssertionError", _EMPTY),
    _entry("ERR-27", "ValueError", r"Input (?P<index>\d+) of layer \"[^\"]*\" is incompatible with the layer: "
           r"expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\. Full shape received: "
           r"(?P<shape>\([^)]*\))", ["expected", "found", "shape"], shape_as_rank=True),
    _entry("ERR-28", "ValueError", r"Shape (?P<shape>\([^)]*\)) must have rank at least (?P<rank>\d+)",
           ["shape", "rank"], shape_as_rank=True),
    _entry("ERR-29", "ValueError", _INPUT_SHAPE, ["expected", "found"]),
    # The stateful layer's fixed batch and the batch received are the facts (the other dimensions
    # agree), stated in that order: "expected batch size 2, received 3" says them in other words.
    _entry("ERR-30", "ValueError", _INPUT_SHAPE, ["expected_batch", "found_batch"], ordered=True),
    _entry("ERR-31", "ValueError", r"Layer \"[^\"]*\" expects (?P<expected>\d+) input\(s\), but it received "
           r"(?P<received>\d+) input tensors", ["expected", "received"]),
    _entry("ERR-32", "TypeError", _DIMENSION + r"'(?P<value>[(\[].*?)'", ["value"]),
    _entry("ERR-33", "TypeError", _UNEXPECTED_KW, ["keyword"]),
    _entry("ERR-34", "TypeError", _UNEXPECTED_KW, ["keyword"], needs="symbolic"),
    _entry("ERR-35", "TypeError", r"'(?:<=|<|>=|>)' not supported between instances of '(?P<type>\w+)' and "
           r"'int'", ["type"], type_as_value=True),
    # The dimension the oracle names is its kernel's (units times the gates: 10.0 for LSTM(2.5)), not
    # the user's input: the class is what counts.
    _entry("ERR-36", "TypeError", _DIMENSION + r"'(?P<value>[^(\[].*?)'"),
    _entry("ERR-37", "TypeError", r"\('Keyword argument not understood:', '(?P<keyword>\w+)'\)", ["keyword"]),
    _entry("ERR-38", "InvalidArgumentError", r"Matrix size-incompatible: In\[0\]: \[(?P<left>[^\]]*)\], "
           r"In\[1\]: \[(?P<right>[^\]]*)\]", ["left", "right"]),
    _entry("ERR-39", "InvalidArgumentError", r"Incompatible shapes: \[(?P<left>[^\]]*)\] vs\. "
           r"\[(?P<right>[^\]]*)\]", ["left", "right"]),
    _entry("ERR-40", "OutOfRangeError", r"Tried to read from index (?P<index>\d+) but array size is: "
           r"(?P<size>\d+)", ["index", "size"]),
    _entry("ERR-41", "IndexError", r"\Alist index out of range\s*\Z"),
    _entry("ERR-42", "ValueError", r"Cannot unstack (?P<count>\d+) tensors into a TensorArray of static size "
           r"(?P<size>\d+)", ["count", "size"]),
    _entry("ERR-43", "InvalidArgumentError", r"condition \[(?P<mask_batch>\d+)[^\]]*\], then "
           r"\[(?P<batch>\d+)[^\]]*\], and else \[[^\]]*\] must be broadcastable", ["mask_batch", "batch"]),
    _entry("ERR-44", "AttributeError", r"'(?P<type>\w+)' object has no attribute 'dtype'", ["type"]),
    _entry("ERR-45", "ValueError", r"Could not pack sequence\. Structure had (?P<declared>\d+) atoms, but "
           r"flat_sequence had (?P<returned>\d+) items", ["declared", "returned"]),
    _entry("ERR-46", "ValueError", r"Tensor's shape (?P<returned>\([^)]*\)) is not compatible with supplied "
           r"shape (?P<expected>\([^)]*\))", ["returned", "expected"]),
    _entry("ERR-47", "TypeError", r"[\w.<>]*\bcall\(\) missing \d+ required positional argument: "
           r"'(?P<argument>\w+)'", ["argument"], needs="constants"),
]}

# Why the oracle refuses, per path (docs/verdicts.md): a `contract` error refuses an input that is
# meaningless or invalid (wrong counts, shapes, ranks, configuration types): an implementation must
# raise there too. An oracle `limitation` refuses an input with a clear meaning for reasons of tf_keras'
# own machinery: an implementation may refuse it (any class) or accept it and compute what it means
# (judged `lenient`, never failed; a different result fails). `legal_case` builds, from a case, the
# equivalent input the oracle accepts, where a case can express the path (the others are direct
# triggers: conformance/test_errors.py checks their meaning with their own legal equivalents).
CONTRACT, LIMITATION = "contract", "limitation"
REFUSALS = {
    "ERR-01": (CONTRACT, "a cell without a call method is no cell"),
    "ERR-02": (CONTRACT, "a cell without state_size declares no states to carry"),
    "ERR-03": (LIMITATION, "a stateful layer under a distribution strategy has a clear meaning; tf_keras has "
                           "not implemented per-replica states (\"not yet supported\")"),
    "ERR-04": (CONTRACT, "the number of initial states differs from the cell's states (an empty list included)"),
    "ERR-05": (CONTRACT, "an initial state's shape differs from the cell's state_size"),
    "ERR-06": (LIMITATION, "an eager constant beside a symbolic initial state means the same constant for every "
                           "call of the model; tf_keras' functional graph cannot mix the two kinds of tensor"),
    "ERR-07": (LIMITATION, "unroll only trades memory for speed (the page: same results); a time length known "
                           "at call time can be unrolled then, tf_keras unrolls at graph construction"),
    "ERR-08": (CONTRACT, "constants passed to a cell whose call takes none"),
    "ERR-09": (CONTRACT, "the number of initial states differs from the built layer's states"),
    "ERR-10": (LIMITATION, "a mask over a ragged batch means the same as over its padded form; tf_keras' ragged "
                           "path does not combine a mask with the row lengths"),
    "ERR-11": (LIMITATION, "unroll only trades memory for speed; a ragged batch has a longest row to unroll "
                           "to, tf_keras' unrolled path takes no ragged tensors"),
    "ERR-12": (CONTRACT, "the page: reset_states raises AttributeError when the layer is not stateful"),
    "ERR-13": (CONTRACT, "a stateful layer whose batch size is unknown has no states to create or reset"),
    "ERR-14": (CONTRACT, "reset_states given another number of arrays than the layer has states"),
    "ERR-15": (CONTRACT, "reset_states given arrays of another shape than the layer's states"),
    "ERR-16": (CONTRACT, "a stacked cell without a call method is no cell"),
    "ERR-17": (CONTRACT, "a stacked cell without state_size declares no states"),
    "ERR-18": (CONTRACT, "initial states cannot be made without a batch size and a dtype"),
    "ERR-19": (CONTRACT, "units must be a positive integer"),
    "ERR-20": (CONTRACT, "units must be a positive integer"),
    "ERR-21": (CONTRACT, "units must be a positive integer"),
    "ERR-22": (LIMITATION, "a cell with nested outputs under a mask has a clear meaning (the loop path computes "
                           "it); tf_keras' unrolled path expands the mask against the nested output"),
    "ERR-23": (LIMITATION, "as ERR-07, through the GRU and LSTM layers' own check"),
    "ERR-24": (CONTRACT, "an abstract cell that defines no call, state_size or output_size is no cell"),
    "ERR-25": (LIMITATION, "a NumPy array of the right shape means the same states or constants as a tensor of "
                           "it; tf_keras' input check only knows its own tensor types"),
    "ERR-26": (LIMITATION, "the list input and the keyword are two spellings of the same initial states; "
                           "given once each with the same states the meaning is clear, tf_keras asserts instead"),
    "ERR-27": (CONTRACT, "the input has rank 2; the layer takes [batch, timesteps, features]"),
    "ERR-28": (CONTRACT, "the input has rank 2; the layer takes [batch, timesteps, features]"),
    "ERR-29": (CONTRACT, "the feature size differs from the one the layer was built for"),
    "ERR-30": (CONTRACT, "the batch size differs from the stateful layer's fixed batch"),
    "ERR-31": (CONTRACT, "two inputs where the layer takes one tensor (the list form is tf_keras' own)"),
    "ERR-32": (CONTRACT, "two inputs where the layer takes one tensor"),
    "ERR-33": (CONTRACT, "constants passed to a built-in layer whose cell takes none"),
    "ERR-34": (CONTRACT, "constants passed to a built-in layer whose cell takes none"),
    "ERR-35": (CONTRACT, "units of a type that is not an integer"),
    "ERR-36": (CONTRACT, "units of a type that is not an integer"),
    "ERR-37": (CONTRACT, "a keyword argument the layer does not have"),
    "ERR-38": (CONTRACT, "an initial state's width differs from the layer's units"),
    "ERR-39": (CONTRACT, "an initial state's batch differs from the input's"),
    "ERR-40": (CONTRACT, "the mask has fewer timesteps than the input"),
    "ERR-41": (CONTRACT, "the mask has fewer timesteps than the input"),
    "ERR-42": (CONTRACT, "the mask has more timesteps than the input"),
    "ERR-43": (CONTRACT, "the mask's batch (or layout) differs from the input's"),
    "ERR-44": (LIMITATION, "the oracle's GRU and LSTM take a list of masks (the first applies to the input); "
                           "a tuple of the same masks is refused by an isinstance(list) check only"),
    "ERR-45": (CONTRACT, "the cell returns fewer states than its state_size declares"),
    "ERR-46": (CONTRACT, "the cell returns a state of another shape than its state_size declares"),
    "ERR-47": (CONTRACT, "a list input cannot say which of its entries are constants: the cell misses them"),
}
for _id, (_refusal, _reason) in REFUSALS.items():
    CATALOG[_id].update(refusal=_refusal, reason=_reason)
# The oracle-limitation paths; `legal_case` where a case (cases.py) can reach the path.
LIMITATIONS = {_id: {"reason": reason, "legal_case": None}
               for _id, (refusal, reason) in REFUSALS.items() if refusal == LIMITATION}

# Errors of the oracle that error-paths.md does not number (its ERR IDs are fixed), in the catalog's
# format: classify() never returns their ids, classify_other() does, and facts_match() takes them.
OTHER_ERRORS = {e["id"]: e for e in [
    # A state nested a level too deep (`initial_state=[[s]]` for one cell): backend.dot reads `.shape`.
    # A crash of the oracle's machinery, no designed error: any refusal stands for it (ANY_REFUSAL).
    _entry("state-not-a-tensor", "AttributeError", r"'(?P<type>\w+)' object has no attribute 'shape'", ["type"]),
    # The masked loop's eager tf.while_loop finds its states after the first step nested unlike those
    # it started from (DEV-initial-state-nesting-mask): ValueError, or TypeError for a tuple against a list.
    _entry("loop-nesting", "ValueError", r"The two structures don't have the same nested structure"),
    _entry("loop-sequence-type", "TypeError", r"The two structures don't have the same nested structure"),
    # A stateful layer's new state of another shape than its variable (the unrolled loop does not check).
    _entry("state-assign-shape", "ValueError", r"Cannot assign value to variable .*? Shape mismatch\.\s*The variable "
           r"shape (?P<variable>\([^)]*\)), and the assigned value shape (?P<value>\([^)]*\)) are incompatible",
           ["variable", "value"]),
]}


# Oracle errors that are crashes inside its machinery, not errors it raises on purpose (ids of
# OTHER_ERRORS or of the catalog): the contract is that the input is refused, with whatever class and
# message. ERR-41 is the unrolled loop indexing past a short mask (IndexError "list index out of range").
ANY_REFUSAL = frozenset({"state-not-a-tensor", "ERR-41"})
# Paths error-paths.md gives at build that an oracle layer reaches in its constructor by the way (the
# LSTM layer's state InputSpec, lstm.py L574-L576): the same refusal at the first call is that path.
RAISED_AT_BUILD = frozenset({"ERR-36"})
# Crashes of the oracle's machinery on an input that means something: `legal_case(case)` states it
# legally (or None); an implementation computing that is lenient (judge._lenient), else it fails.
CRASH_EQUIVALENTS = {
    "state-not-a-tensor": {"reason": "a single state wrapped in a list of its own reaches backend.dot, which "
                                     "reads the list's `.shape`", "legal_case": unwrapped_initial_states},
}


def refused_by_its_machinery(error, case=None):
    """Whether the oracle's `error` is a crash of its own code, not an error it raises on purpose:
    an ANY_REFUSAL path, or any error on a case whose mask has another batch than its input (tf_keras
    broadcasts the mask and fails later, writing the loop's outputs or assigning its states)."""
    if classify_other(error) in ANY_REFUSAL or classify(error, case or {}) in ANY_REFUSAL:
        return True
    mask = (case or {}).get("mask")
    return mask is not None and not (case or {}).get("embedding") and len(mask) != case.get("batch", len(mask))


def classify_other(error):
    """The OTHER_ERRORS id of an oracle error, or None."""
    if not error:
        return None
    message = error.get("message", "")
    return next((e["id"] for e in OTHER_ERRORS.values()
                 if _class_matches(e, error) and e["pattern"].search(message)), None)


# Triggers that fit a case: the suite runs them, the fuzzer may sample them. One per path where a case
# can express the trigger; the rest need direct calls (conformance/test_errors.py).
_SIMPLE = [{"kind": "simple", "units": 2}]
_STATEFUL = {"stateful": True}
ERROR_CASES = {
    "ERR-08": {"cells": _SIMPLE, "constants": [[3]]},
    "ERR-12": {"layer": "SimpleRNN", "cells": _SIMPLE, "steps": [{"op": "call"}, {"op": "reset"}]},
    "ERR-14": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2}], "flags": _STATEFUL,
               "steps": [{"op": "call"}, {"op": "reset", "states": "wrong_count"}]},
    "ERR-15": {"layer": "SimpleRNN", "cells": _SIMPLE, "flags": _STATEFUL,
               "steps": [{"op": "call"}, {"op": "reset", "states": "wrong_batch"}]},
    "ERR-19": {"layer": "SimpleRNN", "cells": [{"kind": "simple", "units": 0}]},
    "ERR-20": {"layer": "GRU", "cells": [{"kind": "gru", "units": 0}]},
    "ERR-21": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 0}]},
    "ERR-27": {"layer": "SimpleRNN", "cells": _SIMPLE, "features": []},
    "ERR-28": {"cells": _SIMPLE, "features": []},
    "ERR-30": {"cells": _SIMPLE, "flags": _STATEFUL, "steps": [{"op": "call"}, {"op": "call", "batch": 3}]},
    "ERR-33": {"layer": "SimpleRNN", "cells": _SIMPLE, "constants": [[3]]},
    "ERR-35": {"layer": "LSTM", "cells": [{"kind": "lstm", "units": None}]},
    "ERR-36": {"layer": "SimpleRNN", "cells": [{"kind": "simple", "units": 2.5}]},
    # An argument no implementation has (`seed`, the page's trigger, is a real argument of Keras 3's layers).
    "ERR-37": {"layer": "SimpleRNN", "cells": [{"kind": "simple", "units": 2, "no_such_argument": 1}]},
    "ERR-40": {"cells": _SIMPLE, "mask": [[1, 1, 1], [1, 1, 0]]},
    "ERR-41": {"cells": _SIMPLE, "flags": {"unroll": True}, "mask": [[1, 1, 1], [1, 1, 0]]},
    "ERR-42": {"cells": _SIMPLE, "mask": [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]},
    "ERR-43": {"cells": _SIMPLE, "mask": [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]},
    "ERR-45": {"cells": [{"kind": "custom", "variant": "few_states", "units": 2}]},
    "ERR-46": {"cells": [{"kind": "custom", "variant": "bad_state", "units": 2}]},
    # The constant has the state's width, so as a list input it passes for an initial state.
    "ERR-47": {"cells": [{"kind": "custom", "variant": "needs_constants", "units": 2}], "constants": [[2]],
               "steps": [{"op": "call", "list_input": True}]},
}
# Other documented triggers of the same paths, as (id, case).
ERROR_CASE_VARIANTS = [
    ("ERR-08", {"cells": [{"kind": "lstm", "units": 2}], "constants": [[3]], "flags": {"unroll": True}}),
    ("ERR-19", {"cells": [{"kind": "simple", "units": -1}]}),
    ("ERR-20", {"cells": [{"kind": "gru", "units": 0}]}),
    ("ERR-21", {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": -3}]}),
    ("ERR-27", {"layer": "GRU", "cells": [{"kind": "gru", "units": 2}], "features": []}),
    ("ERR-33", {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2}], "constants": [[3]]}),
    ("ERR-35", {"layer": "SimpleRNN", "cells": [{"kind": "simple", "units": "3"}]}),
    ("ERR-36", {"cells": [{"kind": "lstm", "units": 2.5}]}),
    # The LSTM layer (not the cell) raises it at construction: its state_spec.
    ("ERR-36", {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2.5}]}),
    ("ERR-37", {"cells": _SIMPLE, "flags": {"foo": 1}}),
    ("ERR-43", {"cells": _SIMPLE, "flags": {"unroll": True}, "mask": [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]}),
]


def has_feature(target, feature):
    """Whether `target` can reach a path that needs `feature` (None: every implementation can)."""
    return feature is None or FEATURES[feature](target)


def _class_matches(entry, error):
    return error["type"] == entry["class"] or entry["class"] in error.get("mro", ())


def classify(error, case=None):
    """The ERR-xx path of an oracle error, or None when it is none of the catalogued ones.

    Paths that share a message are told apart by the case or the message's details:
    ERR-04/05 by whether the number of states passed differs from the cell's; ERR-19/20/21 by the kind
    of layer or cell with the invalid units (without a case: ERR-19); ERR-29/30 by whether the batch
    dimension differs from the one the spec fixed; ERR-33/34 by the stage (ERR-34 surfaces in
    `predict`, a stage containing "predict").
    """
    if not error:
        return None
    message = error.get("message", "")
    ids = [e["id"] for e in CATALOG.values() if _class_matches(e, error) and e["pattern"].search(message)]
    if ids == ["ERR-46"] and case is not None and _unrolled_zero_mask_last_output(normalize(case)):
        return None  # the same text from DEV-unroll-zero-mask-last-output, not a cell's bad state
    if len(ids) <= 1:
        return ids[0] if ids else None
    if "ERR-04" in ids:
        m = CATALOG["ERR-04"]["pattern"].search(message)
        passed = m["specs"].count("InputSpec(")
        return "ERR-05" if passed == _count_state_sizes(m["state_size"]) else "ERR-04"
    if "ERR-19" in ids:
        return {"gru": "ERR-20", "lstm": "ERR-21"}.get(_kind_with_invalid_units(case), "ERR-19")
    if "ERR-29" in ids:
        m = CATALOG["ERR-29"]["pattern"].search(message)
        expected, found = _tokens(m["expected"]), _tokens(m["found"])
        batch = 1 if case is not None and normalize(case)["flags"].get("time_major") else 0
        batch_differs = (len(expected) > batch and len(found) > batch and expected[batch] != "None"
                         and expected[batch] != found[batch])
        return "ERR-30" if batch_differs else "ERR-29"
    if "ERR-33" in ids:
        return "ERR-34" if "predict" in error.get("stage", "") else "ERR-33"
    return ids[0]


def _unrolled_zero_mask_last_output(case):
    flags = case["flags"]
    return bool(flags.get("unroll") and flags.get("zero_output_for_mask") and not flags.get("return_sequences")
                and (case["mask"] is not None or case["embedding"]))


def _count_state_sizes(text):
    """Leaves of a printed state_size: "[2, 2]" -> 2, "[TensorShape([2, 3]), 4]" -> 2."""
    return len(_tokens(re.sub(r"TensorShape\(\[[^\]]*\]\)", " S ", text)))


def _kind_with_invalid_units(case):
    if case is None:
        return None
    case = normalize(case)
    if case["layer"] in BUILTIN_LAYERS:
        return BUILTIN_LAYERS[case["layer"]]
    for cell in case["cells"]:
        units = cell.get("units")
        if isinstance(units, (int, float)) and not isinstance(units, bool) and units <= 0:
            return cell["kind"]
    return None


# ---- facts ------------------------------------------------------------------------------------
_NOISE = {"ListWrapper", "TensorShape", "InputSpec", "shape", "ndim", "array", "dtype"}
_TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[A-Za-z_]\w*")


# A shape as JavaScript prints an array (tfjs: `expected shape=${spec.shape}`): its entries joined by bare
# commas, null printed as nothing, so (None, None, 4) reads ",,4" and (1, None, 4) "1,,4". A comma
# followed by a space is the sentence's, not the array's ("expected shape=,,4, found shape=2,3,5.").
_JS_SHAPE = re.compile(r"(?<![\w.,])(?=[\d,]*\d)(?:\d*,(?!\s))+\d*(?![\w.]\w)")


def _tokens(text):
    text = _JS_SHAPE.sub(lambda m: ", ".join(d or "None" for d in m.group(0).split(",")), text or "")
    return [t for t in _TOKEN.findall(text) if t not in _NOISE]


def _facts(entry, match):
    facts = {name: match.group(name) for name in entry["facts"] if name in match.re.groupindex}
    if entry["id"] == "ERR-05" and match is not None:  # the shape of the first state passed
        first = re.search(r"shape=(\([^)]*\))", match["specs"])
        facts["received"] = first.group(1) if first else None
    if entry["id"] == "ERR-30" and match is not None:  # the batch dimension of each shape
        facts["expected_batch"], facts["found_batch"] = (next(iter(_tokens(match[name])), None)
                                                         for name in ("expected", "found"))
    return {name: value for name, value in facts.items() if value is not None}


def _find(haystack, needle):
    return next(i for i in range(len(haystack) - len(needle) + 1) if haystack[i:i + len(needle)] == needle)


def _contains(haystack, needle):
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def facts_match(oracle_error, impl_error, err_id):
    """(ok, detail): whether the implementation's message states the facts of the oracle's (see the
    module docstring for how strictly). Classes are compare.same_error_class's business."""
    entry = CATALOG[err_id] if err_id in CATALOG else OTHER_ERRORS[err_id]
    expected = entry["pattern"].search(oracle_error.get("message", ""))
    if expected is None:
        return False, (f"the oracle's message is not the {err_id} message the catalog knows: "
                       f"{oracle_error['message'][:300]!r}")
    facts = _facts(entry, expected)
    if not facts:
        return True, "no facts to compare"
    message = impl_error.get("message", "")
    same_wording = entry["pattern"].search(message)
    actual_facts = _facts(entry, same_wording) if same_wording else {}
    tokens = _tokens(message)
    missing = []
    for name, value in facts.items():
        want = _tokens(value)
        if same_wording:
            if _tokens(actual_facts.get(name)) != want:
                missing.append(f"{name}: expected {value!r}, got {actual_facts.get(name)!r}")
        elif not _contains(tokens, want):
            if not ((name == "shape" and entry.get("shape_as_rank") and _states_rank_of(message, value))
                    or (name == "type" and entry.get("type_as_value") and _states_type_by_value(message, value))):
                missing.append(f"{name}: {value!r} not stated")
        elif entry.get("ordered"):  # the next fact must be stated after this one
            tokens = tokens[_find(tokens, want) + len(want):]
    if missing:
        return False, (f"{err_id}: the implementation's message does not state the oracle's facts ("
                       + "; ".join(missing) + f"). Oracle: {oracle_error['message'][:300]!r}; "
                       f"implementation: {message[:300]!r}")
    return True, "facts: " + ", ".join(f"{k}={v}" for k, v in facts.items())
