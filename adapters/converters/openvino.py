"""OpenVINO's converter and CPU runtime (target `openvino`): see common.py.

The traced call is saved as a SavedModel and converted from there, OpenVINO's documented route for
TensorFlow models (converting the tf.function itself fails on the loop's TensorList ops). Inference
runs at float32 precision (INFERENCE_PRECISION_HINT), not at the CPU plugin's default, which lowers
to bfloat16 on CPUs that have it: the question here is what the conversion computes, not the
precision a deployment chooses.
"""
import openvino

from .common import Converter, namespace, saved_model


class OpenvinoConverter(Converter):
    name = "OpenVINO"

    def convert(self, function, specs, layer):
        with saved_model(function, layer) as path:
            model = openvino.convert_model(path)
        compiled = openvino.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                                "INFERENCE_NUM_THREADS": 1})
        inputs = [_port(compiled.inputs, spec.name) for spec in specs]
        outputs = [_port(compiled.outputs, f"output_{i}") for i in range(len(compiled.outputs))]
        request = compiled.create_infer_request()

        def run(arrays):
            result = request.infer({port: a for port, a in zip(inputs, arrays)})
            return [result[port] for port in outputs]
        return run


def _port(ports, name):
    return next(port for port in ports if name in port.get_names())


globals().update(namespace(OpenvinoConverter()))
