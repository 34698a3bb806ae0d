"""tf2onnx's conversion run by an ONNX runtime: onnxruntime here (target `onnx`), onnx's reference
evaluator (`onnx-reference`, onnx_reference.py) and tract (`onnx-tract`, onnx_tract.py) run the same
converted model. See common.py, and onnx_runtimes.py for telling the converter's differences from a
runtime's.

tf2onnx's Keras entry point fails on TensorFlow >= 2.16, so the traced call is converted
(`from_function`); onnxruntime runs it on the CPU, single-threaded.
"""
import onnxruntime
import tf2onnx

from .common import Converter, namespace


class OnnxConverter(Converter):
    """tf2onnx's conversion; `load(model)` (an onnx ModelProto) gives `run(feeds)`, feeds a dict from
    the model's input names to arrays, returning its outputs in the graph's order."""
    name = "tf2onnx/onnxruntime"

    def convert(self, function, specs, layer):
        model, _ = tf2onnx.convert.from_function(function, input_signature=specs)
        run = self.load(model)
        # tf2onnx names an input after its spec and tensor ("arg0:0").
        by_spec = {i.name.split(":")[0]: i.name for i in model.graph.input}
        names = [by_spec[spec.name] for spec in specs]
        return lambda arrays: run(dict(zip(names, arrays)))

    def load(self, model):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        return lambda feeds: session.run(None, feeds)


globals().update(namespace(OnnxConverter()))
