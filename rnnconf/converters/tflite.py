"""TensorFlow's TFLite converter run by the LiteRT interpreter of `ai-edge-litert` (target `tflite`):
see common.py. The traced call is converted from a SavedModel, the converter's documented entry
point, with the converter's defaults (TFLite builtin ops only, no optimizations): what a converted
model gets unless its user asks for more."""
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from .common import Converter, namespace, saved_model


class TfliteConverter(Converter):
    name = "TFLite/LiteRT"

    def convert(self, function, specs, layer):
        with saved_model(function, layer) as path:
            flatbuffer = tf.lite.TFLiteConverter.from_saved_model(path).convert()
        runner = Interpreter(model_content=flatbuffer, num_threads=1).get_signature_runner("serving_default")
        outputs = [f"output_{i}" for i in range(len(runner.get_output_details()))]

        def run(arrays):
            result = runner(**{spec.name: a for spec, a in zip(specs, arrays)})
            return [result[name] for name in outputs]
        return run


globals().update(namespace(TfliteConverter()))
