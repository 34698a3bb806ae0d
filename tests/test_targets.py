"""rnnconf.adapters.targets and the remote path: an implementation run by another interpreter in worker
processes (rnnconf.adapters.worker), reached by the suite through namespaces.RemoteTarget. No network, no
install: the "other" interpreter is rnnconf's own (`--impl reference --impl-python .venv/bin/python`),
which proves the remote path end to end; the real targets' environments are created by hand."""
import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest

from rnnconf.engine import dropout, execute
from rnnconf.adapters import namespaces
from rnnconf.adapters.worker import SOURCE_ROOT, Worker, spawning_with
from rnnconf.adapters import targets

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable  # rnnconf's own interpreter, standing in for a target's
CASES = [
    {"cells": [{"kind": "lstm", "units": 2}], "batch": 2, "timesteps": 3},
    {"cells": [{"kind": "gru", "units": 3}], "batch": 2, "timesteps": 4, "flags": {"return_state": True},
     "mask": [[1, 1, 0, 0], [1, 1, 1, 1]], "dtype": "float64"},
    {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3, "flags": {"stateful": True},
     "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset"}, {"op": "call"}]},
    {"cells": [{"kind": "simple", "units": 0}], "batch": 2, "timesteps": 3},  # an error (ERR-20)
]


@pytest.fixture(scope="module")
def remote():
    target = namespaces.resolve("reference", python=PYTHON)
    yield target
    target.worker.stop()


# ---- the registry ---------------------------------------------------------------------------------
def test_registry_shape():
    for name in ("keras3-jax", "keras3-numpy", "keras3-torch", "keras-nightly", "tf_keras-2.17", "tf_keras-2.19"):
        spec = targets.TARGETS[name]
        assert spec.name == name and spec.pins and all("==" in pin for pin in spec.pins)
        assert spec.impl in namespaces.SHORT_NAMES
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in spec.env.items())
        assert not any(pin.split("==")[0] in ("pytest", "hypothesis") for pin in spec.pins)  # rnnconf's own stay out
    assert targets.TARGETS["keras3-jax"].env["JAX_ENABLE_X64"] == "1"
    assert targets.TARGETS["keras3-numpy"].env["KERAS_BACKEND"] == "numpy"
    assert targets.TARGETS["keras3-torch"].heavy and "PIP_FIND_LINKS" in targets.TARGETS["keras3-torch"].note
    assert targets.TARGETS["tf_keras-2.17"].impl == "tf_keras"


def test_converter_targets_build_with_the_oracles_releases_and_fix_their_weights():
    from importlib.util import find_spec
    oracle_pins = [p for p in targets.TARGETS["onnx"].pins if p.startswith(("tensorflow==", "tf-keras=="))]
    assert oracle_pins == ["tensorflow==2.21.0", "tf-keras==2.21.0"]
    for name in ("onnx", "tflite", "openvino"):
        spec = targets.TARGETS[name]
        assert spec.heavy and spec.fixed_weights and spec.package and all("==" in pin for pin in spec.pins)
        assert set(oracle_pins) <= set(spec.pins)
        # The adapter module is rnnconf's own (found without importing the converter it needs).
        assert spec.impl == f"rnnconf.adapters.converters.{name}" and find_spec(spec.impl) is not None
    assert targets.fixed_weights("onnx") and not targets.fixed_weights("keras3-jax")
    assert not targets.fixed_weights("reference")


def test_jax_targets_keep_a_compilation_cache_that_reproducers_do_not_need(tmp_path, monkeypatch):
    from rnnconf.reports import repro_source
    monkeypatch.setenv("RNNCONF_CACHE", str(tmp_path))
    for name in ("keras3-jax", "keras-nightly"):
        spec = targets.TARGETS[name]
        assert spec.jax_cache and targets.JAX_CACHE_PIN in spec.pins
        _, _, env = targets.remote_spec(name, install=False)
        assert env["JAX_COMPILATION_CACHE_DIR"] == os.path.join(str(tmp_path), "jax-cache", name)
        assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
        assert int(env["JAX_COMPILATION_CACHE_MAX_SIZE"]) == targets.JAX_CACHE_MAX_BYTES
        assert env["KERAS_BACKEND"] == "jax"
        assert "filelock" not in repro_source._where_to_run(name) and "jax==0.10.2" in repro_source._where_to_run(name)
    _, _, env = targets.remote_spec("keras3-torch", install=False)
    assert not any(k.startswith("JAX_COMPILATION") for k in env)


def test_an_environment_is_reused_while_its_pins_are_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCONF_CACHE", str(tmp_path))
    spec = targets.TargetSpec("fake", ("pkg==1.0",), "reference")
    assert not targets.installed(spec)
    root = targets.env_dir("fake")
    os.makedirs(os.path.join(root, "bin"))
    open(targets.python_of("fake"), "w").close()
    with open(os.path.join(root, targets.STAMP), "w") as f:
        json.dump({"pins": ["pkg==1.0"]}, f)
    assert targets.installed(spec)
    assert targets.ensure(spec) == targets.python_of("fake")  # no pip run: it would fail on pkg
    assert not targets.installed(targets.TargetSpec("fake", ("pkg==2.0",), "reference"))  # recreated


def test_set_up_errors_are_one_line():
    with pytest.raises(targets.TargetError, match="unknown target 'keras3-jx'"):
        targets.remote_spec("keras3-jx")
    with pytest.raises(targets.TargetError, match="no such executable"):
        targets.remote_spec("reference@/nonexistent/python")
    assert targets.remote_spec("reference") is None and targets.remote_spec("mypkg.rnn:layers") is None
    pins = ("keras==3.15.1", "jax==0.10.2")
    out = "ERROR: Could not find a version that satisfies the requirement jax==0.10.2 (from versions: 0.4)\n"
    assert targets.failed_pin(pins, out) == "pin jax==0.10.2 cannot be installed"
    assert targets.failed_pin(pins, "ERROR: No matching distribution found for Keras==3.15.1") == \
        "pin keras==3.15.1 cannot be installed"
    with pytest.raises(namespaces.SetupError, match="unknown target"):
        namespaces.resolve("keras3-jx")


def test_a_failed_install_names_the_pin(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCONF_CACHE", str(tmp_path))

    def fake_run(cmd, log, spec, what):
        if what == "pip install":
            raise targets.TargetError(f"target '{spec.name}': pip install failed (exit 1): "
                                      + targets.failed_pin(spec.pins, "No matching distribution found for pkg==9"))
    monkeypatch.setattr(targets, "_run", fake_run)
    with pytest.raises(targets.TargetError, match="pin pkg==9 cannot be installed"):
        targets.ensure(targets.TargetSpec("fake", ("pkg==9",), "reference"), log=open(os.devnull, "w"))
    assert not targets.installed(targets.TargetSpec("fake", ("pkg==9",), "reference"))


# ---- the worker with another interpreter ------------------------------------------------------------
def test_the_swap_around_start_is_restored(monkeypatch):
    from multiprocessing import spawn
    ctx = multiprocessing.get_context("spawn")
    path, exe = sys.path, os.fsdecode(spawn.get_executable())  # set_executable may store it as bytes
    monkeypatch.delenv("RNNCONF_TEST_VAR", raising=False)
    with spawning_with(ctx, PYTHON, {"RNNCONF_TEST_VAR": "1"}):
        assert sys.path[0] == SOURCE_ROOT and sys.path is not path
        assert os.fsdecode(spawn.get_executable()) == PYTHON and os.environ["RNNCONF_TEST_VAR"] == "1"
    assert sys.path is path and os.fsdecode(spawn.get_executable()) == exe and "RNNCONF_TEST_VAR" not in os.environ
    with pytest.raises(RuntimeError):
        with spawning_with(ctx, PYTHON, {"RNNCONF_TEST_VAR": "1"}):
            raise RuntimeError
    assert sys.path is path and os.fsdecode(spawn.get_executable()) == exe and "RNNCONF_TEST_VAR" not in os.environ


def _child_facts(target):
    """What a worker child sees (run in it by Worker.call)."""
    return {"path0": sys.path[0], "var": os.environ.get("RNNCONF_TEST_VAR"), "numpy": np.__file__,
            "executable": sys.executable}


def test_a_worker_child_runs_the_interpreter_it_is_given(monkeypatch):
    path = sys.path
    # _child_facts is sent by reference (this module's name); the child finds this module on its PYTHONPATH.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    worker = Worker("reference", python=PYTHON, env={"RNNCONF_TEST_VAR": "1"})
    try:
        worker.start()
        assert sys.path is path
        status, answer, _, _ = worker.call(_child_facts)
    finally:
        worker.stop()
    assert status == "ok" and answer["error"] is None, answer
    facts = answer["value"]
    assert facts["path0"] == SOURCE_ROOT and facts["var"] == "1" and facts["executable"] == PYTHON
    assert worker.versions["numpy"] == np.__version__


# ---- the suite's calls through a RemoteTarget ---------------------------------------------------------
def test_remote_outcomes_equal_in_process_ones(remote):
    local = namespaces.resolve("reference")
    assert remote.remote and remote.framework == local.framework and remote.versions["numpy"] == np.__version__
    for name in namespaces.REQUIRED + ("StackedRNNCells", "Layer"):
        assert remote.has(name) == local.has(name)
    for case in CASES:
        _assert_same(execute.run(remote, case), execute.run(local, case))


def test_remote_dropout_samples_and_probe_equal_in_process_ones(remote):
    local = namespaces.resolve("reference")
    case = {"cells": [{"kind": "simple", "units": 2, "dropout": 0.5}], "batch": 2, "timesteps": 3, "training": True}
    _assert_same(dropout.sample(remote, case, 8, seed=3), dropout.sample(local, case, 8, seed=3))
    probed = dict(case, flags={"return_sequences": True})
    assert dropout.shared_mask_violations(remote, probed) == dropout.shared_mask_violations(local, probed)


def test_direct_triggers_run_whole_in_the_worker(remote):
    from rnnconf.conformance import test_errors
    local = namespaces.resolve("reference")
    for err_id, trigger, stage, _ in test_errors.DIRECT:
        if err_id in ("ERR-01", "ERR-04", "ERR-16", "ERR-22"):
            got, want = test_errors.error_of(trigger, remote, stage), test_errors.error_of(trigger, local, stage)
            assert _no_address(got) == _no_address(want), err_id


def test_the_remote_namespace_is_reached_only_through_call(remote):
    """No hidden remote call: touching the namespace of a target in another interpreter is an error
    that names the explicit way, target.call(function)."""
    for name in ("ns", "ops", "to_native"):
        with pytest.raises(TypeError, match=r"target\.call\(function\)"):
            getattr(remote, name)


def _no_address(error):
    import re
    return dict(error, message=re.sub(r"0x[0-9a-f]+", "0x", error["message"])) if error else error


def test_a_remote_error_keeps_its_class_names():
    error = {"type": "InvalidArgumentError", "mro": ["InvalidArgumentError", "OpError", "Exception", "BaseException",
                                                     "object"], "message": "Matrix size-incompatible", "stage": "call"}
    described = execute.describe_error(namespaces.remote_exception(error), "call")
    assert described == error


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# ---- end to end: rnnconf check and the suite ------------------------------------------------------
def test_check_runs_the_implementation_with_its_interpreter(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "rnnconf.cli", "check", "--impl", "reference", "--impl-python",
                           PYTHON, "--max-examples", "30", "--skip-suite", "--workers", "1", "--no-progress",
                           "--seed", "1", "--out", str(out)], cwd=SOURCE_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert data["examples"] >= 30 and not data["discrepancies"]
    assert data["implementation"] == f"reference@{PYTHON}"


def test_check_refuses_an_unknown_target(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rnnconf.cli", "check", "--impl", "keras3-jx", "--out",
                           str(tmp_path / "out")], cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("rnnconf: unknown target 'keras3-jx'")


def test_the_suite_gives_the_same_clause_results_with_impl_python(tmp_path):
    reports = []
    for extra in ([], ["--impl-python", PYTHON]):
        report = tmp_path / f"clauses{len(extra)}.json"
        proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:xdist", "-p",
                               "no:cacheprovider", "-k", "flags", "--first-of-each", "--impl", "reference", *extra,
                               f"--clause-report={report}"], cwd=SOURCE_ROOT, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
        reports.append(json.loads(report.read_text())["clauses"])
    assert reports[0] == reports[1] and any(c["checks"] for c in reports[0].values())


def test_a_remote_target_prints_briefly(remote):
    assert repr(remote).startswith("RemoteTarget('reference@") and "object at 0x" not in repr(remote)
