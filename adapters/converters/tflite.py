"""TensorFlow's TFLite converter run by the LiteRT interpreter of `ai-edge-litert` (target `tflite`):
see common.py. The traced call is converted from a SavedModel, the converter's documented entry
point, with the converter's defaults (TFLite builtin ops only, no optimizations): what a converted
model gets unless its user asks for more. A stateful layer's states become resource variables
(`experimental_enable_resource_variables`), which the interpreter keeps between runs."""
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from .common import Converter, namespace, saved_model


class TfliteConverter(Converter):
    name = "TFLite/LiteRT"
    keeps_state = True

    def convert(self, function, specs, layer):
        return self.convert_stateful({"serving_default": function}, specs, layer)["run"]

    def convert_stateful(self, functions, specs, layer):
        with saved_model(functions, layer) as path:
            converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=list(functions))
            converter.experimental_enable_resource_variables = len(functions) > 1
            flatbuffer = converter.convert()
        interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
        call = interpreter.get_signature_runner("serving_default")
        outputs = [f"output_{i}" for i in range(len(call.get_output_details()))]

        def run(arrays):
            result = call(**{spec.name: a for spec, a in zip(specs, arrays)})
            return [result[name] for name in outputs]
        model = {"run": run}
        if "assign" in functions:
            assign, read = interpreter.get_signature_runner("assign"), interpreter.get_signature_runner("read")
            states = sorted(read.get_output_details())
            model["assign"] = lambda arrays: assign(**{f"state{i}": a for i, a in enumerate(arrays)})
            model["read"] = lambda: [result[name] for result in [read()] for name in states]
        return model


globals().update(namespace(TfliteConverter()))
