"""tf2onnx's conversion (onnx.py) run by tract (target `onnx-tract`), Sonos' ONNX runtime in Rust,
through its Python bindings (PyPI `tract`), with its default loading: typed, decluttered and
optimized (`into_model().into_runnable()`)."""
import os
import tempfile

import numpy as np
import tract

from .common import namespace
from .onnx import OnnxConverter


class OnnxTractConverter(OnnxConverter):
    name = "tf2onnx/tract"

    def load(self, model):
        with tempfile.TemporaryDirectory(prefix="rnnconf-onnx-") as folder:
            path = os.path.join(folder, "model.onnx")  # tract loads models from files only
            with open(path, "wb") as f:
                f.write(model.SerializeToString())
            loaded = tract.onnx().load(path)
        typed = loaded.into_model()
        names = [typed.input_name(i) for i in range(typed.input_count())]
        runnable = typed.into_runnable()

        def run(feeds):
            return [t.to_numpy() for t in runnable.run([np.ascontiguousarray(feeds[n]) for n in names])]
        return run


globals().update(namespace(OnnxTractConverter()))
