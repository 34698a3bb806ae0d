"""tf2onnx's conversion (onnx.py) run by onnx's reference evaluator (target `onnx-reference`):
`onnx.reference.ReferenceEvaluator`, the ONNX operators written in Python and NumPy after their
specification. Slow, and no optimizer between the graph and the operators: what the converted graph
means, by the standard's own reading."""
from onnx.reference import ReferenceEvaluator

from .common import namespace
from .onnx import OnnxConverter


class OnnxReferenceConverter(OnnxConverter):
    name = "tf2onnx/onnx-reference"

    def load(self, model):
        evaluator = ReferenceEvaluator(model)
        return lambda feeds: evaluator.run(None, feeds)


globals().update(namespace(OnnxReferenceConverter()))
