"""A model converter served as an implementation under test: tf_keras builds the layer, the converted
model computes it.

A converter's namespace (`rnnconf.adapters.converters.onnx`, target `onnx`) has tf_keras' cells and layers,
except that `RNN`, `SimpleRNN`, `GRU` and `LSTM` are `Converted` wrappers around tf_keras' own:
  - The first call builds the layer in Keras, eagerly (weights exist only then), so what Keras itself
    refuses is refused as the oracle refuses it; the converter never sees such a layer.
  - Every later call is first made eagerly in Keras once per model (Keras' errors for the call's
    arguments are the outcome, as the oracle's are), then traced for its arguments' shapes (inputs,
    mask, initial states and constants become separate model inputs; a call Keras makes eagerly but
    cannot trace is unsupported: conversion starts from a trace). The traced function is converted,
    the converted model runs on the arguments' values, and its outputs come back in Keras' nesting.
    A conversion is kept for the next call with the same weights and shapes: fuzz/driver.py varies
    only the data of a drawn case for these targets, so one conversion serves its data variants.
A stateful layer runs where the runtime keeps variables between runs (TFLite's resource variables):
the converted model holds the states as variables, which it reads at the start of a call and updates
at its end. The Keras layer's state variables mirror them (written into the model before each call,
read back after it), so `reset_states` and `layer.states` work as in Keras, and Keras checks their
arguments as the oracle does.

What the converted model cannot do is unsupported, never a pass: a refused conversion raises
NotImplementedError with the converter's reason (engine/capabilities.py), and so does a
stateful layer where the runtime keeps no state between runs, and a runtime that says at run time
that it lacks a kernel (the converter's `run` raises NotImplementedError with the runtime's words).
Any other failure to run raises RuntimeError, and a model that runs and computes something else is
a discrepancy.
"""
import contextlib
import hashlib
import os
import re
import tempfile
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from rnnconf.adapters.in_process import _tf_keras_adapter

CALL_ARGUMENTS = ("mask", "initial_state", "constants")  # the call's tensors besides its inputs
_CONVERSIONS = [0]  # models converted in this process: the namespace's rnnconf_conversions()


class Converter:
    """What a converter module provides: its name, and `convert(function, specs, layer)`, which
    converts a tf.function of `len(specs)` tensors (TensorSpecs named arg0, arg1, ...) calling the
    tf_keras `layer` (whose variables it reads), and returns `run(arrays)` giving the model's outputs
    as a list of arrays in the order of tf.nest.flatten of the function's.

    A converter whose runtime keeps variables between runs sets `keeps_state` and provides
    `convert_stateful(functions, specs, layer)`: `functions` holds the call ("serving_default"),
    "assign" (the layer's state variables from arrays named state0, state1, ...) and "read" (them, as
    state_000, state_001, ...); it returns {"run": run(arrays), "assign": assign(arrays), "read": read()}
    over one model whose variables persist between those runs."""
    name = "converter"
    keeps_state = False

    def convert(self, function, specs, layer):
        raise NotImplementedError

    def convert_stateful(self, functions, specs, layer):
        raise NotImplementedError


class ExportError(Exception):
    """TensorFlow could not save the traced call as a SavedModel (saved_model): the step before the
    converter, so a refusal to name as TensorFlow's, not the converter's."""


class _Leaf:
    """The place of a tensor in a call's arguments (see _split)."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<{self.index}>"


def _split(tree, leaves):
    """`tree` (the call's arguments: nests of lists, tuples and dicts of arrays or tensors) with each
    array replaced by a _Leaf, whose value is appended to `leaves` as a NumPy array."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: _split(v, leaves) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_split(v, leaves) for v in tree)
    value = tree.numpy() if hasattr(tree, "numpy") else np.asarray(tree)
    leaves.append(value)
    return _Leaf(len(leaves) - 1)


def _join(template, values):
    """_split's inverse: the template with each _Leaf replaced by values[index]."""
    if isinstance(template, _Leaf):
        return values[template.index]
    if isinstance(template, dict):
        return {k: _join(v, values) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        return type(template)(_join(v, values) for v in template)
    return template


def _digest(arrays):
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Converted:
    """A tf_keras recurrent layer whose calls after the first run through a converted model."""

    def __init__(self, keras_class, converter, *args, **kwargs):
        # Set through __dict__: __getattr__ hands every other attribute to the Keras layer.
        self.__dict__.update(keras=keras_class(*args, **kwargs), converter=converter, _models={},
                             _weights_digest=None)

    def __getattr__(self, name):
        return getattr(self.__dict__["keras"], name)

    def __repr__(self):
        return f"Converted[{self.converter.name}]({self.keras.__class__.__name__})"

    def set_weights(self, weights):
        self.keras.set_weights(weights)
        self.__dict__["_weights_digest"] = None

    def __call__(self, inputs, **kwargs):
        keras = self.keras
        if not keras.built:
            return keras(inputs, **kwargs)  # the build call: Keras' own, eager
        if keras.stateful and not self.converter.keeps_state:
            raise NotImplementedError(f"stateful layers: the {self.converter.name} model keeps no state "
                                      f"between runs")
        training = kwargs.pop("training", None)
        unknown = set(kwargs) - set(CALL_ARGUMENTS)
        if unknown:
            keras(inputs, training=training, **kwargs)  # Keras' own error for an argument it lacks
            raise NotImplementedError(f"call argument(s) {', '.join(sorted(unknown))}: not converted here")
        if kwargs.get("mask") is None and getattr(inputs, "_keras_mask", None) is not None:
            kwargs["mask"] = inputs._keras_mask  # an upstream mask (Embedding(mask_zero=True))
        leaves = []
        template = _split({"inputs": inputs, **{k: v for k, v in kwargs.items() if v is not None}}, leaves)
        model = self._model(template, leaves, training)
        states = tf.nest.flatten(keras.states) if keras.stateful else []
        try:
            if states:  # the Keras layer's states (where reset_states acts) into the model
                model["assign"]([v.numpy() for v in states])
            flat = model["run"](leaves)
            if states:
                for variable, value in zip(states, model["read"]()):
                    variable.assign(value)
        except NotImplementedError:
            raise  # the runtime's own refusal at run time (an op it lacks for a dtype): unsupported
        except Exception as e:  # noqa: BLE001 - the runtime's failure is the implementation's
            raise RuntimeError(f"the {self.converter.name} model failed to run: {type(e).__name__}: "
                               f"{_first_line(e)}") from e
        return tf.nest.pack_sequence_as(model["structure"], [np.asarray(a) for a in flat])

    def _model(self, template, leaves, training):
        """The converted model for this call's structure and shapes and the current weights."""
        if self._weights_digest is None:
            self.__dict__["_weights_digest"] = _digest(self.keras.get_weights())
        key = (self._weights_digest, repr(template), training,
               tuple((a.shape, a.dtype.str) for a in leaves))
        models = self._models
        if key in models:
            return models[key]
        keras, traced = self.keras, {}

        def call(*tensors):
            args = _join(template, tensors)
            inputs = args.pop("inputs")
            if training is not None:
                args["training"] = training
            traced["outputs"] = keras(inputs, **args)
            # Flat: a SavedModel signature takes no nested outputs (a stack's state lists).
            return tf.nest.flatten(traced["outputs"])

        # Keras' own checks of the arguments, as the oracle makes them (a trace skips some: a stateful
        # layer called with another batch size): its error is the outcome, raised as it is.
        self._eager_probe(template, leaves, training)
        specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype), name=f"arg{i}") for i, a in enumerate(leaves)]
        function = tf.function(call, input_signature=specs)
        try:
            function.get_concrete_function()
        except Exception as e:  # noqa: BLE001 - a call eager Keras makes but cannot trace
            raise NotImplementedError(f"tf_keras cannot trace this call, which conversion needs: "
                                      f"{type(e).__name__}: {_first_line(e)}") from e
        structure = traced["outputs"]
        try:
            if keras.stateful:
                model = self.converter.convert_stateful(_state_functions(function, keras), specs, keras)
            else:
                model = {"run": self.converter.convert(function, specs, keras)}
        except ExportError as e:
            raise NotImplementedError(f"{self.converter.name} converts a SavedModel, and TensorFlow cannot save "
                                      f"this layer as one: {e}") from e
        except Exception as e:  # noqa: BLE001 - any refusal of the converter is "unsupported"
            raise NotImplementedError(f"{self.converter.name} cannot convert this layer: {type(e).__name__}: "
                                      f"{_first_line(e)}") from e
        _CONVERSIONS[0] += 1
        if len(models) >= 8:  # other batch sizes and argument forms of the same weights: keep a few
            models.pop(next(iter(models)))
        models[key] = dict(model, structure=structure)
        return models[key]


    def _eager_probe(self, template, leaves, training):
        """Make the call eagerly, as the oracle does, and raise its error if it has one (once per
        model: its cost is nothing beside a conversion's). A stateful layer's states are restored
        after it."""
        keras = self.keras
        states = tf.nest.flatten(keras.states) if keras.stateful else []
        saved = [v.numpy() for v in states]
        args = _join(template, [tf.constant(a) for a in leaves])
        inputs = args.pop("inputs")
        if training is not None:
            args["training"] = training
        try:
            keras(inputs, **args)
        finally:
            for variable, value in zip(states, saved):
                variable.assign(value)


def _state_functions(call, layer):
    """The call and two functions over a stateful layer's state variables: "assign" (from arrays
    state0, state1, ...) and "read" (state_000, state_001, ...)."""
    variables = tf.nest.flatten(layer.states)

    def assign(*values):
        for variable, value in zip(variables, values):
            variable.assign(value)
        return {"assigned": tf.constant(len(values))}  # a signature needs an output

    def read():
        return {f"state_{i:03d}": tf.identity(v) for i, v in enumerate(variables)}

    specs = [tf.TensorSpec(v.shape, v.dtype, name=f"state{i}") for i, v in enumerate(variables)]
    return {"serving_default": call, "assign": tf.function(assign, input_signature=specs),
            "read": tf.function(read, input_signature=[])}


@contextlib.contextmanager
def saved_model(functions, layer):
    """A temporary SavedModel holding `layer`'s variables, with a signature per tf.function of
    `functions` (one function: "serving_default"). A call's signature has inputs named as its specs
    and outputs output_0, output_1, ... in the order of its flat outputs (two names for one tensor
    where two outputs are one). The documented entry point of TFLite's and OpenVINO's converters."""
    if not isinstance(functions, dict):
        functions = {"serving_default": functions}
    holder = tf.Module()
    holder.layer, holder.functions = layer, dict(functions)
    with tempfile.TemporaryDirectory(prefix="rnnconf-savedmodel-") as path:
        try:
            tf.saved_model.save(holder, path,
                                signatures={name: f.get_concrete_function() for name, f in functions.items()})
        except Exception as e:  # noqa: BLE001
            raise ExportError(f"{type(e).__name__}: {_first_line(e)}") from e
        yield path


def _first_line(exc):
    """The message's first line, without this machine's paths (reports must not carry them)."""
    text = re.sub(r"\S*/site-packages/", "", str(exc))
    located = re.search(r"\berror: (.*)", text)  # MLIR's "<unknown>:0: error: loc(...): what"
    if located:
        what = located.group(1).strip()
        return (what.rsplit("): ", 1)[-1] if what.startswith("loc(") else what)[:300]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines[:-1]):  # Keras' wrapping: the message follows this line
        if "Exception encountered when calling" in line:
            return lines[i + 1][:300]
    if lines and lines[0] == "in user code:":  # TensorFlow's wrapping: the error is the last line
        lines = lines[-1:]
    return lines[0][:300] if lines else "(no message)"


def namespace(converter):
    """The names a converter module exports: tf_keras' cells and layers, its recurrent layers wrapped
    in Converted, and the protocol's hooks of tf_keras (adapters/namespaces.py) except the compiler
    and Model (a converted layer is called on arrays only) and the seeding hook: TensorFlow seeded
    before a trace gives its random ops fixed seeds, which a converted model keeps, so it would draw
    the same dropout mask at every run (TFLite: 1 distinct output in 400 runs, against 16 unseeded on
    a case with 16 possible). Its samples are drawn unseeded, as a converted model runs for its users."""
    layers = tf_keras.layers
    adapter = _tf_keras_adapter(tf_keras)

    def wrapped(keras_class):
        def make(*args, **kwargs):
            return Converted(keras_class, converter, *args, **kwargs)
        make.__name__ = make.__qualname__ = keras_class.__name__
        make.__doc__ = f"tf_keras' {keras_class.__name__}, run by {converter.name} after its first call"
        return make

    names = {name: getattr(layers, name) for name in ("SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells",
                                                        "Embedding", "Layer", "AbstractRNNCell")}
    names.update({name: wrapped(getattr(layers, name)) for name in ("RNN", "SimpleRNN", "GRU", "LSTM")})
    names.update(ops=adapter.ops, TensorShape=adapter.TensorShape, rnnconf_to_tensor=adapter.rnnconf_to_tensor,
                 rnnconf_clear_session=adapter.rnnconf_clear_session,
                 rnnconf_framework="tf_keras", rnnconf_conversions=lambda: _CONVERSIONS[0])
    return types.SimpleNamespace(**names).__dict__
