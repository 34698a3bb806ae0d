"""Model converters as implementations under test (targets `onnx`, `tflite`, `openvino`): common.py
serves any of them through the namespace protocol; each other module converts and runs with one."""
