"""tf2onnx: a float64 RNN over a list of cells converts without the float32 rounding Keras does.

tf_keras' StackedRNNCells (what RNN([cell]) wraps its list in) has the default dtype float32, so in
a float64 layer Keras casts each step's input float64 -> float32 -> float64 (two Cast ops in the
traced graph). The ONNX model tf2onnx 1.17 makes of it keeps only the first Cast's type change
(to double): the rounding through float32 is gone, and onnxruntime's outputs differ from Keras' by
float32 rounding (~1e-8) where float64 agreement is ~1e-16.

Needs: tensorflow==2.21.0 tf-keras==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 onnxruntime==1.32.0.
Run: python onnx_float64_stack_skips_float32_rounding.py   (exit 1 while the difference exists)
"""
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
import tf_keras  # noqa: E402

layer = tf_keras.layers.RNN([tf_keras.layers.SimpleRNNCell(2, dtype="float64")], dtype="float64")
x = np.random.default_rng(0).normal(size=(2, 4, 3))
keras_out = layer(x).numpy()

spec = [tf.TensorSpec(x.shape, tf.float64, name="x")]
function = tf.function(lambda a: layer(a), input_signature=spec)
casts = [(n.attr["SrcT"].type, n.attr["DstT"].type) for f in function.get_concrete_function().graph.as_graph_def()
         .library.function for n in f.node_def if n.op == "Cast"]
print("Cast ops in the TensorFlow graph (SrcT -> DstT; 1 float32, 2 float64):", casts)

model, _ = tf2onnx.convert.from_function(function, input_signature=spec)


def onnx_casts(graph):
    for node in graph.node:
        if node.op_type == "Cast":
            yield [a.i for a in node.attribute if a.name == "to"][0]
        for attribute in node.attribute:
            if attribute.g.node:
                yield from onnx_casts(attribute.g)


print("Cast ops to float (1) or double (11) in the ONNX graph:", list(onnx_casts(model.graph)))
session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
onnx_out = session.run(None, {"x": x})[0]
difference = float(np.abs(onnx_out - keras_out).max())
print(f"max |onnxruntime - tf_keras| = {difference:.3g} (float64 agreement would be ~1e-15)")
sys.exit(1 if difference > 1e-12 else 0)
