"""A reproducer's custom cells and the framework ops they need, as Python source (engine/custom_cells.py written out)."""
from rnnconf.engine import custom_cells

from .repro_source import _class_name, _indent


def _factory_name(variant):
    return f"{variant}_cell"


_MULTI = ("multi_state", "multi_no_out", "few_states")


_CALLS = {  # the call of each variant of engine/custom_cells.py, over `core` (x @ kernel + h @ recurrent)
    "minimal": ["def call(self, inputs, states):",
                "    output = self._core(inputs, states[0])  # linear, as the API page's MinimalRNNCell",
                "    return output, [output]"],
    "multi_state": ["def call(self, inputs, states):",
                    "    h, c = states[0], states[1]",
                    "    h_new = ops.tanh(self._core(inputs, h) + ops.dot(c, self.carry_in))",
                    "    c_new = ops.tanh(ops.dot(h_new, self.carry_out) + c)",
                    "    return h_new, [h_new, c_new]"],
    "few_states": ["def call(self, inputs, states):",
                   "    h_new = ops.tanh(self._core(inputs, states[0]))",
                   "    return h_new, [h_new]  # one state, though state_size declares two"],
    "tanh": ["def call(self, inputs, states):",
             "    output = ops.tanh(self._core(inputs, states[0]))",
             "    return output, [output]"],
    "bare_state": ["def call(self, inputs, states):",
                   "    output = ops.tanh(self._core(inputs, states[0]))",
                   "    return output, output  # the one new state as a tensor, not in a list"],
    "bad_state": ["def call(self, inputs, states):",
                  "    output = ops.tanh(self._core(inputs, states[0]))",
                  "    widen = ops.fill([self.units, self.units + 2], 0.1, output.dtype)",
                  "    return output, [ops.dot(output, widen)]  # two columns wider than state_size"],
    "constants": ["def call(self, inputs, states, constants=None):",
                  "    constant = ops.dot(constants[0], self.constant_kernel)",
                  "    output = ops.tanh(self._core(inputs, states[0]) + constant)",
                  "    return output, [output]"],
    "constants_bare_state": ["def call(self, inputs, states, constants=None):",
                             "    constant = ops.dot(constants[0], self.constant_kernel)",
                             "    output = ops.tanh(self._core(inputs, states[0]) + constant)",
                             "    return output, output  # the one new state as a tensor, not in a list"],
    "needs_constants": ["def call(self, inputs, states, constants):  # constants required",
                        "    output = ops.tanh(self._core(inputs, states[0]))",
                        "    return output, [output]"],
    "training": ["def call(self, inputs, states, training=None):",
                 "    output = ops.tanh(self._core(inputs, states[0]))",
                 "    if training:",
                 "        output = output * ops.cast_like(2.0, output)",
                 "    return output, [output]"],
}


_CALLS["multi_no_out"] = _CALLS["multi_state"]


_CALLS["hd_state"] = _CALLS["init_state"] = _CALLS["tanh"]


_DESCRIPTIONS = {
    "minimal": "the API page's MinimalRNNCell (an int state_size, no output_size)",
    "multi_state": "two states, of units and units + 1, and an output_size",
    "multi_no_out": "two states, of units and units + 1, and no output_size",
    "hd_state": "a (rows, units) state and output",
    "init_state": "its own get_initial_state, 0.5 everywhere",
    "constants": "constants feed every step",
    "constants_bare_state": "constants feed every step; returns its one new state as a tensor, not in a list",
    "training": "its output doubled when training",
    "bare_state": "returns its one new state as a tensor, not in a list",
    "few_states": "returns one state while declaring two",
    "bad_state": "returns a state of the wrong width",
    "needs_constants": "constants as a required argument",
}


def _custom_cell_source(variant, case):
    """A factory of the custom cell `variant` (engine/custom_cells.py) as a subclass of the
    namespace's Layer, its math through the framework's ops."""
    name = _class_name(variant)
    init = ["def __init__(self, units, rows=2, **kwargs):" if variant == "hd_state" else
            "def __init__(self, units, **kwargs):",
            "    super().__init__(**kwargs)",
            "    self.units = units"]
    if variant in _MULTI:
        init.append("    self.state_size = [units, units + 1]")
    elif variant == "hd_state":
        init.append("    self.state_size = ops.shape([rows, units])")
    else:
        init.append("    self.state_size = units")
    if variant == "multi_state":
        init.append("    self.output_size = units")
    elif variant == "hd_state":
        init.append("    self.output_size = ops.shape([rows, units])")
    build = ["def build(self, input_shape):"]
    if case["constants"]:
        build += ["    if isinstance(input_shape, list):  # the constants' shapes come along",
                  "        input_shape = input_shape[0]"]
    build += ["    u = self.units",
              '    self.kernel = self.add_weight(shape=(int(input_shape[-1]), u), name="kernel")',
              '    self.recurrent_kernel = self.add_weight(shape=(u, u), name="recurrent_kernel")']
    if variant in _MULTI:
        build += ['    self.carry_in = self.add_weight(shape=(u + 1, u), name="carry_in")',
                  '    self.carry_out = self.add_weight(shape=(u, u + 1), name="carry_out")']
    if variant in custom_cells.CONSTANTS_VARIANTS:
        build += ["    # the constant has `units` features",
                  '    self.constant_kernel = self.add_weight(shape=(u, u), name="constant_kernel")']
    build.append("    self.built = True")
    core = ["def _core(self, inputs, h):",
            "    return ops.dot(inputs, self.kernel) + ops.dot(h, self.recurrent_kernel)"]
    methods = [init, build, core, _CALLS[variant]]
    if variant == "init_state":
        methods.append(["def get_initial_state(self, inputs=None, batch_size=None, dtype=None):",
                        "    return ops.fill([batch_size, self.units], 0.5, dtype)"])
    cls = f"class {name}(layers.Layer):\n" + "\n\n".join(_indent("\n".join(m)) for m in methods)
    return (f"def {_factory_name(variant)}(layers):\n"
            f'    """{name}: {_DESCRIPTIONS[variant]}."""\n'
            "    ops = framework_ops(layers)\n\n"
            f"{_indent(cls)}\n"
            f"    return {name}")


def _ops_needed(variants):
    needed = {"dot", "tanh"} if variants else set()
    for v in variants:
        needed |= {"bad_state": {"fill"}, "init_state": {"fill"}, "training": {"cast_like"},
                   "hd_state": {"shape"}}.get(v, set())
    return needed


_OPS = {  # framework: op -> source at an indent of 12 (the adapters of adapters/namespaces.py)
    "tf_keras": {
        "dot": "dot=lambda x, w: tf.tensordot(x, w, axes=1)",
        "tanh": "tanh=tf.tanh",
        "fill": "fill=lambda dims, value, dtype: tf.fill(tf.stack(dims), tf.cast(value, dtype))",
        "cast_like": "cast_like=lambda value, x: tf.cast(value, x.dtype)",
        "shape": "shape=tf.TensorShape",
    },
    "keras": {
        "dot": "dot=lambda x, w: k.tensordot(x, w, axes=1)",
        "tanh": "tanh=k.tanh",
        "fill": "fill=lambda dims, value, dtype: k.full([int(d) for d in dims], value, dtype=dtype)",
        "cast_like": "cast_like=lambda value, x: k.cast(value, x.dtype)",
        "shape": "shape=tuple",
    },
    "numpy": {
        "dot": "dot=lambda x, w: x @ w",
        "tanh": "tanh=np.tanh",
        "fill": "fill=lambda dims, value, dtype: np.full([int(d) for d in dims], value, np.dtype(dtype))",
        "cast_like": "cast_like=lambda value, x: np.asarray(value, x.dtype)",
        "shape": "shape=tuple",
    },
}


def _framework_ops_source(needed):
    order = [op for op in ("dot", "tanh", "fill", "cast_like", "shape") if op in needed]

    def table(framework):
        return "SimpleNamespace(\n" + "".join(f"            {_OPS[framework][op]},\n" for op in order) + "        )"
    math = [op for op in order if op != "shape"]
    own = "".join(f"            {op}=layers.ops.{op},\n" for op in math) + (
        "            shape=ops.shape,\n" if "shape" in needed else "")
    lines = [
        "def framework_ops(layers):",
        '    """The custom cells\' math in the framework under `layers` (a namespace\'s own `ops` and',
        '    `TensorShape` win): the cell runs inside the layer, on its tensors."""',
        '    tf_keras, keras = sys.modules.get("tf_keras"), sys.modules.get("keras")',
        "    if tf_keras is not None and builds_layers_of(layers, tf_keras.layers.Layer):",
        "        import tensorflow as tf  # tf_keras' own framework",
        "",
        "        ops = " + table("tf_keras"),
        '    elif keras is not None and hasattr(keras, "ops") and builds_layers_of(layers, keras.Layer):',
        "        k = keras.ops",
        "        ops = " + table("keras"),
        "    else:",
        "        ops = " + table("numpy"),
        '    if getattr(layers, "ops", None) is not None:',
        "        ops = SimpleNamespace(\n" + own + "        )",
    ]
    if "shape" in needed:
        lines += ['    if getattr(layers, "TensorShape", None) is not None:',
                  "        ops.shape = layers.TensorShape"]
    lines.append("    return ops")
    return "\n".join(lines)
