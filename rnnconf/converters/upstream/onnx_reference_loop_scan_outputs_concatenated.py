"""onnx.reference: Loop's scan outputs are concatenated along their first axis instead of stacked.

ReferenceEvaluator's Loop joins the per-iteration values of a scan output with np.vstack: a body
value of shape (2, 2) over 3 iterations comes out (6, 2), where onnx's own shape inference gives the
Loop output (N, 2, 2) and onnxruntime returns (3, 2, 2). (np.vstack stacks only 0-d and 1-d values,
which the operator's tests use.) tf2onnx writes a Keras RNN with a mask (or one it cannot fuse into
ONNX's GRU/LSTM op) as a Loop whose scan output is the (batch, units) output of each step, so the
reference evaluator fails on it: the next Transpose gets (steps * batch, units) ("Inconsistent
permutation [1, 0, 2] with shape (8, 2)"). The spec's wording is read both ways in onnx/onnx#3122.

Needs: onnx==1.23.2 onnxruntime==1.32.0 (numpy).
Run: python onnx_reference_loop_scan_outputs_concatenated.py   (exit 1 while the difference exists)
"""
import sys

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, shape_inference
from onnx.reference import ReferenceEvaluator

# Loop(M=3) whose body passes its condition on and emits the outer 2x2 tensor x as a scan output.
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["x"], ["scan"])], "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("scan", TensorProto.FLOAT, [2, 2])])
graph = helper.make_graph(
    [helper.make_node("Loop", ["M", "cond"], ["out"], body=body)], "loop",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2]), helper.make_tensor_value_info("M", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8

inferred = shape_inference.infer_shapes(model).graph.output[0].type.tensor_type.shape.dim
feeds = {"x": np.arange(4, dtype=np.float32).reshape(2, 2), "M": np.array(3, np.int64), "cond": np.array(True)}
expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
actual = ReferenceEvaluator(model).run(None, feeds)[0]
print("onnx shape inference:", [d.dim_value or d.dim_param for d in inferred])
print("onnxruntime:         ", expected.shape)
print("ReferenceEvaluator:  ", actual.shape)
if actual.shape != expected.shape or not np.array_equal(actual, expected):
    print("difference persists: the reference evaluator concatenates the scan output's values")
    sys.exit(1)
print("no difference")
