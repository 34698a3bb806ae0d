"""tf_keras' layers compiled by XLA (target `tf_keras-xla`): what `model.compile(jit_compile=True)`
and `tf.function(jit_compile=True)` users run. See common.py: the layer is tf_keras' own and its
first call (the build) is Keras', eager; every later call is traced and compiled with
`jit_compile=True` and judged on the compiled call, which is the path under test. A traced call
reads and updates the layer's own variables, so stateful layers keep their states between calls as
in Keras (`reset_states` and `layer.states` act on them directly). A call XLA cannot compile fails
with XLA's error: a difference of this target, not "unsupported".
"""
import numpy as np
import tensorflow as tf

from .common import Converter, namespace


class XlaCompiler(Converter):
    name = "XLA (jit_compile=True)"
    keeps_state = True

    def convert(self, function, specs, layer):
        compiled = tf.function(function.python_function, input_signature=specs, jit_compile=True)

        def run(arrays):
            return [np.asarray(t) for t in tf.nest.flatten(compiled(*[tf.constant(a) for a in arrays]))]
        return run

    def convert_stateful(self, functions, specs, layer):
        # The compiled call updates the layer's own state variables: assigning and reading them is
        # Keras' own business here, eagerly.
        variables = tf.nest.flatten(layer.states)

        def assign(arrays):
            for variable, value in zip(variables, arrays):
                variable.assign(value)

        def read():
            return [v.numpy() for v in variables]
        return {"run": self.convert(functions["serving_default"], specs, layer), "assign": assign, "read": read}


globals().update(namespace(XlaCompiler()))
