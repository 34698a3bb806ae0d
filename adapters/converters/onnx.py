"""tf2onnx's conversion run by onnxruntime (target `onnx`): see common.py.

tf2onnx's Keras entry point fails on TensorFlow >= 2.16, so the traced call is converted
(`from_function`); onnxruntime runs it on the CPU.
"""
import onnxruntime
import tf2onnx

from .common import Converter, namespace


class OnnxConverter(Converter):
    name = "tf2onnx/onnxruntime"

    def convert(self, function, specs, layer):
        model, _ = tf2onnx.convert.from_function(function, input_signature=specs)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        inputs = {i.name.split(":")[0]: i.name for i in session.get_inputs()}
        names = [inputs[spec.name] for spec in specs]

        def run(arrays):
            return session.run(None, dict(zip(names, arrays)))
        return run


globals().update(namespace(OnnxConverter()))
