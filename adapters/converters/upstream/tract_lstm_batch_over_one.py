"""tract: an ONNX LSTM with batch > 1 and more than one step fails to run when its cell state Y_c is
an output beside Y or Y_h.

A plain ONNX LSTM node (opset 15, no initial states, no sequence lengths; X of shape
(seq_length, batch_size, input_size) = (2, 3, 2)) with its three outputs loads and runs in
onnxruntime. tract 0.23.9's Python bindings load it (`tract.onnx().load(path).into_model().into_runnable()`)
and fail when it runs: 'Evaluating #6 "Y" Scan / Setting body inputs / Clashing resolution for
expression. 1=1 != 3'. Measured 2026-12-07: any one output alone, and Y with Y_h, run (and agree
with onnxruntime); Y_c with Y or with Y_h fails; batch 1, or one step with batch 3, runs.
tf2onnx converts tf_keras' LSTM without a mask to this op, and `return_state=True` makes Y_c an
output beside Y_h, so such a layer with a batch over one fails on tract.

Needs: tract==0.23.9 onnx==1.23.2 onnxruntime==1.32.0 (numpy).
Run: python tract_lstm_batch_over_one.py   (exit 1 while the failure persists)
"""
import os
import sys
import tempfile

import numpy as np
import onnxruntime
import tract
from onnx import TensorProto, helper, numpy_helper

SEQ, BATCH, INPUT, HIDDEN = 2, 3, 2, 3
rng = np.random.default_rng(0)
weights = [numpy_helper.from_array(rng.normal(size=(1, 4 * HIDDEN, INPUT)).astype(np.float32), "W"),
           numpy_helper.from_array(rng.normal(size=(1, 4 * HIDDEN, HIDDEN)).astype(np.float32), "R")]
graph = helper.make_graph([helper.make_node("LSTM", ["X", "W", "R"], ["Y", "Y_h", "Y_c"], hidden_size=HIDDEN)], "lstm",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [SEQ, BATCH, INPUT])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")],
                          weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
model.ir_version = 8
x = rng.normal(size=(SEQ, BATCH, INPUT)).astype(np.float32)
expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "lstm.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    runnable = tract.onnx().load(path).into_model().into_runnable()
try:
    actual = runnable.run([x])[0].to_numpy()
except tract.TractError as e:
    print("tract fails:", str(e).split("Stack backtrace")[0].strip())
    sys.exit(1)
print("max |tract - onnxruntime|:", float(np.abs(actual - expected).max()))
sys.exit(0 if np.allclose(actual, expected, atol=1e-5) else 1)
