"""Telling "the implementation lacks this feature" apart from "it gets it wrong".

interfaces.md section 1 and docs/protocol.md: the clauses a case needs are
"unsupported", never failed, where the implementation
  - lacks an optional name the case uses (`Layer` for custom cells, `Embedding`, a built-in layer);
  - raises NotImplementedError (its way of saying "not this", e.g. for list inputs);
  - refuses an argument the case passes, naming it (TypeError, ValueError or AttributeError): a
    constructor argument at construction, a call argument (`initial_state`, `constants`, `mask`,
    `training`, the states of `reset_states`) at any step.
`missing_feature` looks at a case and the implementation's error and names the feature.
"""
import re

from .cases import BUILTIN_LAYERS, cell_kwargs, is_stack, layer_flags, normalize

_NAMED_ARG = re.compile(r"(?:argument|keyword)[^'\"`]*['\"`](\w+)['\"`]|['\"`](\w+)['\"`][^.]*not understood",
                        re.IGNORECASE)


def features_used(case):
    """(optional names, constructor arguments, call arguments) a case relies on."""
    case = normalize(case)
    names = set()
    if case["layer"] in BUILTIN_LAYERS:
        names.add(case["layer"])
    if is_stack(case):
        names.add("StackedRNNCells")
    if any(c["kind"] == "custom" for c in case["cells"]):
        names.add("Layer")
    if case["embedding"]:
        names.add("Embedding")
    # The arguments the layer is given (cases.build_layer): none at its default unless the case is
    # about it, and no `batch_input_shape`, which a stateful layer is built without where refused.
    ctor_args = set(layer_flags(case)) | {k for c in case["cells"] for k in cell_kwargs(c, case)}
    if case["dtype"] != "float32":
        ctor_args.add("dtype")  # a dtype other than Keras' default is a feature (tfjs has no float64)
    call_args = set()
    if case["constants"]:
        call_args.add("constants")
    if case["initial_state"] or any(s.get("initial_state") for s in case["steps"]):
        call_args.add("initial_state")
    if case["mask"] is not None and not case["embedding"]:
        call_args.add("mask")
    if case["training"] is not None:
        call_args.add("training")
    if any(s.get("op") == "reset" and s.get("states") for s in case["steps"]):
        call_args.add("states")
    return names, ctor_args, call_args


def missing_feature(has_name, case, impl_error):
    """The feature the implementation lacks, or None when its error is a real difference.
    `has_name(name)` says whether the namespace provides an optional name (Target.has)."""
    names, ctor_args, call_args = features_used(case)
    for name in sorted(names):
        if name != "StackedRNNCells" and not has_name(name):
            return name
    if impl_error is None or impl_error["type"] not in ("TypeError", "ValueError", "AttributeError",
                                                         "NotImplementedError"):
        return None
    message = impl_error["message"]
    # A constructor argument counts only when construction refused it; a call argument at any step.
    args = call_args | (ctor_args if impl_error.get("stage") == "construct" else set())
    for match in _NAMED_ARG.finditer(message):
        arg = match.group(1) or match.group(2)
        if arg in args:
            return arg
    if impl_error["type"] == "NotImplementedError":
        return message.strip().splitlines()[0][:200] if message.strip() else "a feature (NotImplementedError)"
    if impl_error["type"] == "AttributeError" and "reset_states" in message:
        return "reset_states"
    return None
