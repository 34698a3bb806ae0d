"""execute.Session: a reused layer gives exactly what a fresh one gives (reuse is safe)."""
import numpy as np
import pytest

from rnnconf.engine import compare, execute
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import normalize

CASES = {
    "lstm_mask_state": {"cells": [{"kind": "lstm", "units": 3}], "flags": {"return_sequences": True, "return_state": True},
                        "mask": [[1, 1, 0, 0], [1, 1, 1, 1]]},
    "stateful_gru": {"cells": [{"kind": "gru", "units": 3}], "flags": {"stateful": True},
                     "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"},
                               {"op": "states"}]},
    "embedding_mask": {"cells": [{"kind": "simple", "units": 3}], "embedding": {"vocab": 6},
                       "mask": [[1, 1, 1, 0], [1, 1, 0, 0]], "flags": {"return_sequences": True}},
    "custom_constants": {"cells": [{"kind": "custom", "variant": "constants", "units": 3}], "constants": [[3]],
                         "flags": {"go_backwards": True}},
}


@pytest.mark.parametrize("target_name", ["reference", "tf_keras"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_reused_layer_equals_fresh_layer(target_name, name):
    target = namespaces.resolve(target_name)
    session = execute.Session(target)
    for seed in range(4):
        case = normalize(dict(CASES[name], seed=seed, weight_scale=0.8 + 0.1 * seed))
        reused = session.run(case)
        fresh = execute.run(target, case)
        assert not compare.compare(fresh, reused, case), f"seed {seed}: reused layer differs from a fresh one"
    assert session.stats == {"fresh": 1, "reused": 3, "reuse_errors": 0, "spot_checks": 0}


def test_failed_layers_are_not_reused():
    session = execute.Session(namespaces.resolve("reference"))
    bad = {"cells": [{"kind": "simple", "units": 3}], "constants": [[3]]}  # ERR-08 on every call
    for seed in range(3):
        outcome = session.run(dict(bad, seed=seed))
        assert outcome["steps"][0]["error"]["type"] == "ValueError"
    assert session.stats == {"fresh": 3, "reused": 0, "reuse_errors": 0, "spot_checks": 0}


def test_an_error_on_reuse_is_decided_by_a_fresh_eager_run():
    """tf_keras' stateful stacked cells do not trace with initial_state (nested states in a strict
    tf.cond); the session must answer as a fresh layer would, and from then on reuse that structure
    eagerly only."""
    target = namespaces.resolve("tf_keras")
    session = execute.Session(target, compile_after=0)
    case = {"cells": [{"kind": "simple", "units": 2}], "cell_list": True, "flags": {"stateful": True},
            "initial_state": True}
    for seed in range(3):
        the_case = normalize(dict(case, seed=seed))
        assert not compare.compare(execute.run(target, the_case), session.run(the_case), the_case)
    assert session.stats["reuse_errors"] == 1 and session.stats["reused"] == 2 and session.stats["fresh"] == 2
    (runner,) = session._pool.values()
    assert not runner.compiled and session.last_path == "untraceable"


def test_the_session_says_how_each_case_ran():
    target = namespaces.resolve("tf_keras")
    session = execute.Session(target)
    case = {"cells": [{"kind": "gru", "units": 2}], "mask": [[1, 1, 0]], "batch": 1, "timesteps": 3}
    paths = []
    for seed in range(3):
        session.run(dict(case, seed=seed))
        paths.append(session.last_path)
    session.run(dict(case, seed=9), fresh=True)
    assert paths + [session.last_path] == ["fresh", "traced", "traced", "fresh"]
    reference = execute.Session(namespaces.resolve("reference"))  # no compiler: reused eagerly
    for seed in range(2):
        reference.run(dict(case, seed=seed))
    assert reference.last_path == "reused"


def test_every_nth_reuse_of_a_compiled_layer_is_called_eagerly():
    """The implementation under test's eager spot checks: its compiled path is not all it is judged on.
    A stand-in compiler answers zeros, so each answer shows which path gave it."""
    import copy
    target = copy.copy(namespaces.resolve("reference"))
    target.compile = lambda forward: (lambda weights, x, kwargs: np.zeros((2, 2), np.float32))
    session = execute.Session(target, eager_every=3)
    case = {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3}
    paths = []
    for seed in range(8):
        the_case = normalize(dict(case, seed=seed))
        outcome = session.run(the_case)
        paths.append(session.last_path)
        result = outcome["steps"][0]["result"]
        if session.last_path == "traced":
            assert not result.any()
        else:
            assert not compare.compare(execute.run(target, the_case), outcome, the_case) and result.any()
    assert paths == ["fresh", "traced", "traced", "reused", "traced", "traced", "reused", "traced"]
    assert session.stats["spot_checks"] == 2 and session.stats["reuse_errors"] == 0
    plain = execute.Session(target)  # the oracle's session: no spot checks
    for seed in range(4):
        plain.run(dict(case, seed=seed))
    assert plain.last_path == "traced" and plain.stats["spot_checks"] == 0


@pytest.mark.parametrize("valid, invalid", [
    # A traced stateful layer accepts another batch size, which the eager one rejects.
    ({"flags": {"stateful": True}, "steps": [{"op": "call"}]},
     {"flags": {"stateful": True}, "steps": [{"op": "call"}, {"op": "call", "batch": 1}]}),
    # A traced layer accepts a mask longer than the input, which the eager one rejects.
    ({"mask": [[1, 1, 1], [1, 0, 1]]}, {"mask": [[1, 1, 1, 1], [1, 1, 1, 1]]}),
], ids=["stateful-batch", "mask-length"])
def test_a_layer_is_never_reused_for_other_steps_or_mask_shapes(valid, invalid):
    """A layer traced for the valid case must not run the invalid one: it would pass where a fresh
    layer raises."""
    target = namespaces.resolve("tf_keras")
    session = execute.Session(target)
    base = {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3}
    for seed in range(3):
        session.run(dict(base, **valid, seed=seed))
    bad = normalize(dict(base, **invalid))
    assert execute.has_error(session.run(bad)) and session.last_path == "fresh"


def test_a_perturbation_moves_every_generated_value_by_its_relative_size_and_keeps_the_structure():
    from rnnconf.engine.cases import inputs_for, weights_for
    base = normalize({"cells": [{"kind": "lstm", "units": 3}], "seed": 5})
    probes = [dict(base, perturbation=[1e-3, draw]) for draw in (0, 1)]
    specs = [((3, 12), np.dtype("float64")), ((12,), np.dtype("float64"))]
    for draw_values in (lambda c: inputs_for(c, 0), lambda c: weights_for(specs, c)[0]):
        plain, first, second = (np.asarray(draw_values(c), dtype=np.float64) for c in [base] + probes)
        relative = np.abs(first / plain - 1)
        assert 0 < relative.max() < 5e-3 and relative.mean() > 1e-4
        assert not np.array_equal(first, second)  # each draw its own noise
    assert len({execute.structure_key(c) for c in [base] + probes}) == 1  # reused, as a seed variant is


def test_results_of_tensors_that_require_grad_become_arrays():
    """Keras 3 on torch returns tensors that require grad, whose numpy() raises: not the
    implementation's error, so the harness detaches them first."""
    class GradTensor:  # torch.Tensor's relevant manners
        def __init__(self, value, grad=True):
            self.value, self.grad = np.asarray(value), grad

        def detach(self):
            return GradTensor(self.value, grad=False)

        def cpu(self):
            return self

        def numpy(self):
            if self.grad:
                raise RuntimeError("Can't call numpy() on Tensor that requires grad.")
            return self.value
    from rnnconf.engine.execute import to_numpy
    from rnnconf.reports.repro_runtime import numpy_of  # the reproducers' own, copied into each
    out = to_numpy([GradTensor([1.0, 2.0]), [GradTensor([[3.0]])]])
    assert np.array_equal(out[0], [1.0, 2.0]) and np.array_equal(out[1][0], [[3.0]])
    assert np.array_equal(numpy_of(GradTensor([4.0])), [4.0])
