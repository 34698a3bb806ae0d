"""tf2onnx's conversion (onnx.py) run by tract (target `onnx-tract`), Sonos' ONNX runtime in Rust,
through its Python bindings (PyPI `tract`), with its default loading: typed, decluttered and
optimized (`into_model().into_runnable()`).

tract loads some models whose operators it has no kernel for at the tensors' type and says so only
when it evaluates them ("Sigmoid does not support F64": its Sigmoid is for f16 and f32,
core/src/ops/nn/mod.rs; "LstmEpilogue only supports f32 and f16 preactivations, got F64"). That is tract's own refusal, so the case is unsupported with tract's words
(common.py); any other failure to run is a failure."""
import os
import re
import tempfile

import numpy as np
import tract

from .common import namespace
from .onnx import OnnxConverter

_TYPE = r"([FIU]\d+|Bool|TDim|String|Blob)\b"
# tract's operators refusing a datum type: element-wise and binary ones (core/src/ops/element_wise.rs,
# binary.rs: "Sigmoid does not support F64"), the fused LSTM and GRU cells (core/src/ops/lstm_cell.rs,
# gru_cell.rs: "LstmEpilogue only supports f32 and f16 preactivations, got F64").
_NO_KERNEL_FOR_TYPE = (re.compile(r"\b\w+ does not support " + _TYPE),
                       re.compile(r"\b\w+ only supports [^,]*, got " + _TYPE))


def refusal(error):
    """tract's words where `error` (a TractError) says an operator has no kernel for a type, else None."""
    for pattern in _NO_KERNEL_FOR_TYPE:
        found = pattern.search(str(error))
        if found:
            return f"tract: {found.group(0)}"
    return None


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
            try:
                outputs = runnable.run([np.ascontiguousarray(feeds[n]) for n in names])
            except tract.TractError as e:
                said = refusal(e)
                if said:
                    raise NotImplementedError(f"{said} (the {self.name} model runs an operator tract has no "
                                              f"kernel for at this dtype)") from e
                raise
            return [t.to_numpy() for t in outputs]
        return run


globals().update(namespace(OnnxTractConverter()))
