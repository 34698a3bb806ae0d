"""What reaches an implementation under test.

namespaces.py    --impl NAME -> a Target: the namespace, its hooks and its framework's adapter; a
                 RemoteTarget for an implementation in another interpreter (code that uses its
                 namespace is handed to target.call and runs there)
worker.py        a Worker: one target in a spawned, recyclable child process (crash, hang, memory)
worker_child.py  the child's side: resolves the target, runs the cases and calls it is sent
targets.py       named targets: an implementation in its own pinned virtual environment
converters/      targets whose layer tf_keras builds and a converted model runs (ONNX, TFLite, OpenVINO)

It imports the engine (rnnconf.engine) to run cases, and nothing above it.
"""
