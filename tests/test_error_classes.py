"""Which error of an implementation stands for the oracle's (compare.error_class_match), through the
one judge and the error-path tests' check: a TensorFlow runtime error of the oracle is matched by any
refusal of another framework; a Python class the oracle raises is matched by that class only."""
import pytest

from rnnconf.engine import compare, execute, judge
from rnnconf.adapters import namespaces
from rnnconf.engine.error_catalog import ERROR_CASES, facts_match
from rnnconf.conformance.test_errors import check_impl
from rnnconf.adapters.tfjs import TfjsWorkerExited

OP_ERROR_MRO = ["OpError", "Exception", "BaseException", "object"]


def _error(cls, message, bases=("Exception", "BaseException", "object")):
    return {"type": cls, "mro": [cls, *bases], "message": message, "stage": "step 0"}


def _tf(cls, message):
    return _error(cls, message, OP_ERROR_MRO)


def _raises_at_step_0(error):
    return {"steps": [{"op": "call", "error": error}], "error": None}


def _raises_at_construction(error):
    return {"steps": [], "error": dict(error, stage="construct")}


MATMUL = _tf("InvalidArgumentError", "{{function_node __wrapped__MatMul_device_/job:localhost/replica:0/task:0/"
                                     "device:CPU:0}} Matrix size-incompatible: In[0]: [2,5], In[1]: [2,2] [Op:MatMul]")
SHORT_MASK = _tf("OutOfRangeError", "Tried to read from index 3 but array size is: 3 [Op:TensorListGetItem]")
UNITS = _error("ValueError", "Received an invalid value for argument `units`, expected a positive integer, got 0.")

TORCH_MATMUL = _error("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (2x5 and 2x2)")
JAX_DOT = _error("TypeError", "dot_general requires contracting dimensions to have the same shape, got (5,) and (2,).")
TFJS_MATMUL = _error("Error", "Error in fused matMul: inner shapes (5) and (2) of Tensors with shapes 2,5 and 2,2 "
                              "and transposeA=false and transposeB=false must match.",
                     ("TfjsError", "Exception", "BaseException", "object"))


def _judged(case, oracle_error, impl_error, at=_raises_at_step_0):
    return judge.judge(case, at(oracle_error), at(impl_error))


@pytest.mark.parametrize("impl_error", [TORCH_MATMUL, JAX_DOT, TFJS_MATMUL], ids=["torch", "jax", "tfjs"])
def test_a_tensorflow_runtime_error_is_matched_by_another_frameworks_refusal(impl_error):
    case = {"cells": [{"kind": "simple", "units": 2}], "initial_state": True}
    j = _judged(case, MATMUL, impl_error)
    assert j["status"] == "pass", j
    # The verdict says what stood for the oracle's class.
    assert impl_error["type"] in j["detail"] and "InvalidArgumentError" in j["detail"], j["detail"]


def test_a_shorter_mask_refused_by_torch_with_its_own_message_passes():
    # torch's IndexError does not state TensorFlow's TensorArray index and size: a kernel's operands.
    torch_index = _error("IndexError", "index 2 is out of bounds for dimension 1 with size 2")
    assert _judged(ERROR_CASES["ERR-40"], SHORT_MASK, torch_index)["status"] == "pass"


def test_a_python_class_of_the_contract_stays_exact():
    j = _judged(ERROR_CASES["ERR-19"], UNITS, _error("RuntimeError", "units must be positive"),
                at=_raises_at_construction)
    assert j["status"] == "fail" and j["kind"] == "error", j


def test_javascripts_base_error_stands_for_the_python_class_when_it_states_the_facts():
    """tfjs throws JavaScript's base Error where Keras raises ValueError (JavaScript has no ValueError)."""
    def tfjs_plain(message):
        return _error("Error", message, ("TfjsError", "Exception", "BaseException", "object"))
    j = _judged(ERROR_CASES["ERR-19"], UNITS, tfjs_plain("Expected units to be a positive integer, but got 0."),
                at=_raises_at_construction)
    assert j["status"] == "pass" and "JavaScript's base Error" in j["detail"], j
    wrong_fact = tfjs_plain("Expected units to be a positive integer, but got 7.")
    assert _judged(ERROR_CASES["ERR-19"], UNITS, wrong_fact, at=_raises_at_construction)["status"] == "fail"
    # A Python implementation's class named Error (not JavaScript's) stays a wrong class.
    python_error = _error("Error", "Expected units to be a positive integer, but got 0.")
    assert _judged(ERROR_CASES["ERR-19"], UNITS, python_error, at=_raises_at_construction)["status"] == "fail"


def test_a_tensorflow_implementation_is_held_to_tensorflows_class():
    wrong_tf_class = _tf("InvalidArgumentError", "Tried to read from index 3 but array size is: 3")
    j = _judged(ERROR_CASES["ERR-40"], SHORT_MASK, wrong_tf_class)
    assert j["status"] == "fail" and j["kind"] == "error", j


def test_the_oracles_own_class_is_still_held_to_its_facts():
    other_shapes = _tf("InvalidArgumentError", "Matrix size-incompatible: In[0]: [9,9], In[1]: [7,7]")
    case = {"cells": [{"kind": "simple", "units": 2}], "initial_state": True}
    assert _judged(case, MATMUL, other_shapes)["status"] == "fail"


@pytest.mark.parametrize("impl_error", [
    namespaces._failure_error(("crash", "the worker died")),
    namespaces._failure_error(("timeout", "no answer in 120 s")),
    _error(TfjsWorkerExited.__name__, "the tfjs worker (node) exited with status 1",
           [c.__name__ for c in TfjsWorkerExited.__mro__[1:]]),
    _error("NotImplementedError", "masks are not supported"),
], ids=["worker-crash", "worker-timeout", "tfjs-exited", "not-implemented"])
def test_rnnconfs_own_failures_are_no_refusal(impl_error):
    case = {"cells": [{"kind": "simple", "units": 2}], "initial_state": True}
    assert _judged(case, MATMUL, dict(impl_error, stage="step 0"))["status"] == "fail"


def test_rnnconfs_own_failure_never_stands_for_its_base_class():
    # rnnconf touching a remote target's namespace from the wrong place raises a TypeError of its own.
    out_of_reach = _error(namespaces.OutOfReach.__name__, "keras3-torch runs in another interpreter",
                          [c.__name__ for c in namespaces.OutOfReach.__mro__[1:]])
    keyword = _error("TypeError", "SimpleRNN.call() got an unexpected keyword argument 'constants'")
    assert compare.error_class_match(keyword, out_of_reach) is None
    assert compare.error_class_match(keyword, dict(keyword, message="call() got an unexpected keyword argument "
                                                                     "'constants'"))["facts"]


class _Impl:
    name = "keras3-torch"


def test_the_error_path_tests_apply_the_same_rule():
    check_impl("ERR-38", _Impl, MATMUL, TORCH_MATMUL, "replay")
    with pytest.raises(AssertionError, match="raises RuntimeError"):
        check_impl("ERR-19", _Impl, UNITS, _error("RuntimeError", "units must be positive"), "replay")
    with pytest.raises(AssertionError, match="raises InvalidArgumentError"):
        check_impl("ERR-40", _Impl, SHORT_MASK, _tf("InvalidArgumentError", "index 3, size 3"), "replay")


def test_a_construction_error_keeps_its_stage_across_a_worker():
    """A target in its own environment runs a trigger there; the construction mark comes back with the
    error, so refusing a constructor argument by name stays a missing feature, not a wrong error."""
    record = _error("ValueError", "Unrecognized keyword arguments passed to SimpleRNN: {'time_major': True}")
    assert execute.describe_error(namespaces.remote_exception(dict(record, stage="construct")), "call")["stage"] \
        == "construct"
    assert execute.describe_error(namespaces.remote_exception(dict(record, stage="call")), "call")["stage"] == "call"


def test_javascripts_base_error_on_a_tensorflow_runtime_path_is_held_to_no_kernel_facts():
    """tfjs refuses a shorter mask with its own words; the oracle's TensorArray index and size are
    TensorFlow's kernel's facts, not the contract's."""
    tfjs_error = _error("Error", "Cannot read properties of undefined (reading 'shape')",
                        ("TfjsError", "Exception", "BaseException", "object"))
    assert _judged(ERROR_CASES["ERR-40"], SHORT_MASK, tfjs_error)["status"] == "pass"


def test_a_crash_inside_the_oracle_is_matched_by_any_refusal_but_not_by_results():
    """initial_state=[[s]] for one cell: tf_keras' backend.dot reads `.shape` of a list (AttributeError,
    no error it raises on purpose); any refusal stands for it, returning results does not."""
    case = {"cells": [{"kind": "simple", "units": 3}], "initial_state": True, "initial_state_form": "wrapped"}
    crash = _error("AttributeError", "'list' object has no attribute 'shape'")
    refusal = _error("ValueError", "Incompatible shape for value ((1, 1, 3, 3)), expected ((1, 3, 3))")
    j = _judged(case, crash, refusal)
    assert j["status"] == "pass" and "crashes inside its own code" in j["detail"], j
    assert _judged(case, crash, _tf("InvalidArgumentError", "Shapes of all inputs must match"))["status"] == "pass"
    # A crash of rnnconf's own stands for nothing.
    lost = _error("WorkerCrash", "the worker died", ("RuntimeError", "Exception", "BaseException", "object"))
    assert _judged(case, crash, lost)["status"] == "fail"
    results = {"steps": [{"op": "call", "result": [[0.0]]}], "error": None}
    assert judge.judge(case, _raises_at_step_0(crash), results)["status"] == "fail"


def test_a_rank_path_takes_the_rank_found_for_the_shape_fact():
    """ERR-27/28 are about the input's rank: tfjs says "expected ndim=3, found ndim=2" and prints no
    shape; that states the shape's rank, not another one."""
    oracle = {"type": "ValueError", "message": "Shape (4, 2) must have rank at least 3"}

    def tfjs(message):
        return {"type": "Error", "message": message}
    assert facts_match(oracle, tfjs("Input 0 is incompatible with layer rnn: expected ndim=3, found ndim=2."), "ERR-28")[0]
    assert not facts_match(oracle, tfjs("expected ndim=3, found ndim=4."), "ERR-28")[0]  # another rank
    assert not facts_match(oracle, tfjs("expected ndim=4, found ndim=2."), "ERR-28")[0]  # another rank wanted
    # Only on the rank paths: ERR-29's shapes must be stated.
    wide = {"type": "ValueError", "message": 'Input 0 of layer "rnn" is incompatible with the layer: expected '
                                             "shape=(None, None, 4), found shape=(2, 3, 5)"}
    assert not facts_match(wide, tfjs("expected ndim=3, found ndim=3"), "ERR-29")[0]


def test_a_units_type_is_stated_by_the_value_the_message_prints():
    """ERR-35's fact is the type of `units` (tf_keras' comparison names it); a message that prints the
    value states it: tfjs' "got null" for None, "got \"3\"" for a string. Another value does not."""
    def oracle(type_name):
        return {"type": "TypeError", "message": f"'<=' not supported between instances of '{type_name}' and 'int'"}

    def tfjs(value):
        return {"type": "Error", "message": f"Expected units to be a positive integer, but got {value}."}
    assert facts_match(oracle("NoneType"), tfjs("null"), "ERR-35")[0]
    assert facts_match(oracle("str"), tfjs('"3"'), "ERR-35")[0]
    assert facts_match(oracle("str"), {"type": "TypeError", "message": "units must be int, not str"}, "ERR-35")[0]
    assert not facts_match(oracle("NoneType"), tfjs("2.5"), "ERR-35")[0]
    assert not facts_match(oracle("str"), tfjs("null"), "ERR-35")[0]


def test_a_mask_of_another_batch_is_refused_by_any_error_but_not_accepted():
    """tf_keras broadcasts a mask of batch 2 over an input of batch 1 and fails later in its loop (a
    ValueError of its machinery): JAX's scan TypeError refuses the input as well; results do not."""
    wider = {"cells": [{"kind": "simple", "units": 2}], "batch": 1, "timesteps": 3, "mask": [[1, 1, 1], [1, 0, 1]]}
    loop = _error("ValueError", "Tensor's shape (1, 2, 2) is not compatible with supplied shape (1, 1, 2).")
    scan = _error("TypeError", "scan body function carry input and carry output must have equal types")
    assert _judged(wider, loop, scan)["status"] == "pass"
    # the oracle's class with other words: its machinery's facts are not the input's
    clear = _error("ValueError", "mask of shape (2, 3) does not match the inputs' (batch, timesteps) = (1, 3)")
    assert _judged(wider, loop, clear)["status"] == "pass"
    results = {"steps": [{"op": "call", "result": [[0.0, 0.0], [0.0, 0.0]]}], "error": None}
    assert judge.judge(wider, _raises_at_step_0(loop), results)["status"] == "fail"
    # The same errors where the mask fits the batch: the oracle's class holds.
    fitting = dict(wider, mask=[[1, 1, 1]])
    assert _judged(fitting, loop, scan)["status"] == "fail"


def test_the_unrolled_loops_index_error_on_a_short_mask_is_matched_by_any_refusal():
    """ERR-41: tf_keras' unrolled loop indexes past a mask shorter than the input (IndexError "list
    index out of range", no check of its own); a port that says so in a ValueError refuses it too."""
    short = ERROR_CASES["ERR-41"]
    crash = _error("IndexError", "list index out of range", ("LookupError", "Exception", "BaseException", "object"))
    clear = _error("ValueError", "mask of shape (2, 3) does not match the inputs' (batch, timesteps) = (2, 4)")
    assert _judged(short, crash, clear)["status"] == "pass"
    results = {"steps": [{"op": "call", "result": [[0.0, 0.0], [0.0, 0.0]]}], "error": None}
    assert judge.judge(short, _raises_at_step_0(crash), results)["status"] == "fail"


def test_a_path_given_at_build_may_be_refused_at_the_first_call():
    """ERR-36 is raised at build (error-paths.md); tf_keras' LSTM layer reaches it in its constructor
    (its states' InputSpec). The same refusal at the first call is that path; results are not, nor is
    another path refused later."""
    case = {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2.5}]}
    dimension = "Dimension value must be integer or None or have an __index__ method, got value '2.5' with type " \
                "'<class 'float'>'"
    made = {"error": dict(_error("TypeError", dimension), stage="construct")}
    later = {"steps": [{"op": "call", "error": dict(_error("TypeError", dimension), stage="step 0")}], "error": None}
    assert compare.compare(made, later, case) == []
    results = {"steps": [{"op": "call", "result": [[0.0]]}], "error": None}
    assert compare.compare(made, results, case)
    other = {"steps": [{"op": "call", "error": _error("ValueError", "units must be an integer")}], "error": None}
    assert compare.compare(made, other, case)
    units_type = {"error": dict(_error("TypeError", "'<=' not supported between instances of 'str' and 'int'"),
                                stage="construct")}
    assert compare.compare(units_type, {"steps": [{"op": "call", "error": units_type["error"]}], "error": None},
                           {"cells": [{"kind": "simple", "units": "3"}]})
