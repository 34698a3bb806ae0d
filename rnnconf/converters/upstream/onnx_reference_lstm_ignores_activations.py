"""onnx.reference (and tract): ONNX LSTM's `activations` attribute is ignored.

An LSTM node with activations ["Sigmoid", "Sigmoid", "Sigmoid"] (what tf2onnx makes of tf_keras'
LSTM(activation="sigmoid")) is computed by ReferenceEvaluator with the default ["Sigmoid", "Tanh",
"Tanh"]: onnx/reference/ops/op_lstm.py takes `activations` and does not use it. onnxruntime applies
it. tract 0.23.9 computes the same values as the reference evaluator (its maintainer on the
substitution: sonos/tract#2629).

Needs: onnx==1.23.2 onnxruntime==1.32.0 (numpy); tract==0.23.9 optional.
Run: python onnx_reference_lstm_ignores_activations.py   (exit 1 while the difference exists)
"""
import sys

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

SEQ, BATCH, INPUT, HIDDEN = 3, 1, 2, 3
rng = np.random.default_rng(0)
weights = [numpy_helper.from_array(rng.normal(size=(1, 4 * HIDDEN, INPUT)).astype(np.float32), "W"),
           numpy_helper.from_array(rng.normal(size=(1, 4 * HIDDEN, HIDDEN)).astype(np.float32), "R")]
node = helper.make_node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=HIDDEN,
                        activations=["Sigmoid", "Sigmoid", "Sigmoid"])
graph = helper.make_graph([node], "lstm", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [SEQ, BATCH, INPUT])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
model.ir_version = 8
x = rng.normal(size=(SEQ, BATCH, INPUT)).astype(np.float32)
expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]
actual = ReferenceEvaluator(model).run(None, {"X": x})[0]
default = helper.make_model(helper.make_graph(
    [helper.make_node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=HIDDEN)], "lstm", graph.input, graph.output, weights),
    opset_imports=[helper.make_opsetid("", 15)])
default.ir_version = 8
with_defaults = onnxruntime.InferenceSession(default.SerializeToString(), providers=["CPUExecutionProvider"]).run(
    None, {"X": x})[0]
print("max |reference - onnxruntime|:", float(np.abs(actual - expected).max()))
print("max |reference - onnxruntime with the default activations|:", float(np.abs(actual - with_defaults).max()))
sys.exit(0 if np.allclose(actual, expected, atol=1e-5) else 1)
