"""What reaches an implementation: namespaces and adapters, worker processes, target environments, converters.

namespaces.py    --impl NAME resolved to a Target (in process) or a RemoteTarget (a worker in another
                 interpreter); code that uses a namespace itself runs through target.call(function);
                 in_process.py the Target and the frameworks' adapters of a namespace in this process
worker.py        a case on one side in an isolated, recyclable process (crash, hang, memory);
                 worker_child.py is that process
targets.py       the named targets (keras3, keras3-jax, tf_keras-2.17, ...) and their environments
converters/      implementations reached through a converted model: ONNX, OpenVINO, TFLite, XLA
tfjs/            TensorFlow.js, through a Node process (worker.js)
"""
