"""The suite's custom cells, written once and run on every framework (CELL-01..CELL-10, CONST, CALL-03).

A cell here is a subclass of the target's `Layer` whose math goes through `target.ops`:
`dot(x, w)` (contract x's last axis with w's first), `tanh`, `fill(shape, value, dtype)` and
`cast_like(value, x)`, and whose high-dimensional `state_size` is a `target.shape_type`. Both come
from the adapter protocol (namespaces.py): the namespace's own `ops` and `TensorShape`, else those of
the framework it is built on (TensorFlow's for tf_keras, `keras.ops` for Keras 3), else NumPy and
tuple. See docs/protocol.md.

Variants (name: what it exercises):
  minimal        the page's MinimalRNNCell: int state_size, no output_size, no get_initial_state
  multi_state    state_size [units, units+1] (list), output_size given
  multi_no_out   the same without output_size: output size from state_size[0]
  hd_state       high-dimensional state: state_size = output_size = shape (rows, units); input (rows, f)
  init_state     get_initial_state returning 0.5 everywhere
  constants      call(inputs, states, constants): constants feed every step
  constants_bare_state  the same, returning its one new state as a tensor, not in a list
  training       call(..., training=None): output doubled when training is true
  bare_state     returns its one new state as a tensor, not in a list (int state_size)
  few_states     returns one state while declaring two (ERR-45)
  bad_state      returns a state of the wrong width (ERR-46)
  needs_constants  constants is a required positional argument (ERR-47)
"""
VARIANTS = ("minimal", "multi_state", "multi_no_out", "hd_state", "init_state", "constants", "training",
            "bare_state", "constants_bare_state", "few_states", "bad_state", "needs_constants")
VALID_VARIANTS = VARIANTS[:9]
CONSTANTS_VARIANTS = ("constants", "constants_bare_state")  # the ones that take (and need) constants
_cache = {}


def make_cell(target, variant, units, dtype, rows=2):
    """An instance of the custom cell `variant` for `target`, computing in `dtype`."""
    key = (id(target.ns), variant)
    if key not in _cache:
        _cache[key] = _define(target, variant)
    return _cache[key](units, rows=rows, dtype=dtype)


def _define(target, variant):
    Layer, ops, Shape = target.ns.Layer, target.ops, target.shape_type

    class CustomCell(Layer):
        def __init__(self, units, rows=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.rows = rows
            if variant in ("multi_state", "multi_no_out", "few_states"):
                self.state_size = [units, units + 1]
            elif variant == "hd_state":
                self.state_size = Shape([rows, units])
            else:
                self.state_size = units
            if variant == "multi_state":
                self.output_size = units
            elif variant == "hd_state":
                self.output_size = Shape([rows, units])

        def build(self, input_shape):
            if isinstance(input_shape, list):  # constants' shapes may come along
                input_shape = input_shape[0]
            u = self.units
            self.kernel = self.add_weight(shape=(int(input_shape[-1]), u), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, u), initializer="uniform", name="recurrent_kernel")
            if variant in ("multi_state", "multi_no_out", "few_states"):
                self.carry_in = self.add_weight(shape=(u + 1, u), initializer="uniform", name="carry_in")
                self.carry_out = self.add_weight(shape=(u, u + 1), initializer="uniform", name="carry_out")
            self.built = True

        def _core(self, inputs, h):
            return ops.dot(inputs, self.kernel) + ops.dot(h, self.recurrent_kernel)

    if variant == "minimal":
        def call(self, inputs, states):
            output = self._core(inputs, states[0])  # linear, exactly as on the API page
            return output, [output]
    elif variant in ("multi_state", "multi_no_out"):
        def call(self, inputs, states):
            h, c = states[0], states[1]
            h_new = ops.tanh(self._core(inputs, h) + ops.dot(c, self.carry_in))
            c_new = ops.tanh(ops.dot(h_new, self.carry_out) + c)
            return h_new, [h_new, c_new]
    elif variant == "few_states":
        def call(self, inputs, states):
            h_new = ops.tanh(self._core(inputs, states[0]))
            return h_new, [h_new]
    elif variant in ("hd_state", "init_state"):
        def call(self, inputs, states):
            output = ops.tanh(self._core(inputs, states[0]))
            return output, [output]
    elif variant == "bare_state":
        def call(self, inputs, states):
            output = ops.tanh(self._core(inputs, states[0]))
            return output, output
    elif variant == "bad_state":
        def call(self, inputs, states):
            output = ops.tanh(self._core(inputs, states[0]))
            return output, [ops.dot(output, ops.fill([self.units, self.units + 2], 0.1, output.dtype))]
    elif variant in CONSTANTS_VARIANTS:
        def call(self, inputs, states, constants=None):
            output = ops.tanh(self._core(inputs, states[0]) + ops.dot(constants[0], self.constant_kernel))
            return output, (output if variant == "constants_bare_state" else [output])

        def build(self, input_shape):
            CustomCell.build(self, input_shape)
            # The constant's width is fixed by the suite: `units` features.
            self.constant_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                   name="constant_kernel")
    elif variant == "needs_constants":
        def call(self, inputs, states, constants):
            output = ops.tanh(self._core(inputs, states[0]))
            return output, [output]
    elif variant == "training":
        def call(self, inputs, states, training=None):
            output = ops.tanh(self._core(inputs, states[0]))
            if training:
                output = output * ops.cast_like(2.0, output)
            return output, [output]
    else:
        raise ValueError(f"unknown custom cell variant {variant!r}; known: {', '.join(VARIANTS)}")

    methods = {"call": call, "__module__": __name__}
    if variant in CONSTANTS_VARIANTS:
        methods["build"] = build
    if variant == "init_state":
        def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
            return ops.fill([batch_size, self.units], 0.5, dtype)
        methods["get_initial_state"] = get_initial_state
    name = "".join(part.title() for part in variant.split("_")) + "Cell"
    return type(name, (CustomCell,), methods)
