"""One tf2onnx model on three ONNX runtimes (adapters/converters/onnx_runtimes.py): a discrepancy is
the converter's when every runtime shows it, a runtime's when only that one does. The attribution and
its plumbing are tested on stand-in runtimes; the real runtimes only where target `onnx`'s environment
is installed (`rnnconf check --impl onnx` creates it)."""
import json
import os
import subprocess
import sys

import pytest

from rnnconf.adapters import targets
from rnnconf.adapters.converters import onnx_runtimes

ALL = ("onnxruntime", "onnx-reference", "tract")


@pytest.mark.parametrize("shown, expected", [
    ({"onnxruntime": True, "onnx-reference": True, "tract": True}, "the converter's (tf2onnx)"),
    ({"onnxruntime": False, "onnx-reference": False, "tract": True}, "the runtime's (tract)"),
    ({"onnxruntime": True, "onnx-reference": False, "tract": False}, "the runtime's (onnxruntime)"),
    ({"onnxruntime": True, "onnx-reference": False, "tract": True}, "not attributed"),
    ({"onnxruntime": False, "onnx-reference": False, "tract": False}, "not reproduced"),
    ({"onnxruntime": True, "onnx-reference": None, "tract": True}, "undecided"),
    # A runtime that refuses the model has no say: the vote is among those that run it.
    ({"onnxruntime": False, "onnx-reference": True, "tract": "unsupported"}, "the runtime's (onnx-reference)"),
    ({"onnxruntime": True, "onnx-reference": True, "tract": "unsupported"}, "the converter's (tf2onnx)"),
    ({"onnxruntime": "unsupported", "onnx-reference": True, "tract": "unsupported"}, "not attributed"),
])
def test_whose_difference(shown, expected):
    assert onnx_runtimes.attribution(shown).startswith(expected)


def test_differences_of_different_sorts_are_not_one_difference():
    shown = {"onnxruntime": True, "onnx-reference": True, "tract": True}
    lines = {"onnxruntime": "step 0 output: max abs diff 7e-09", "onnx-reference": "step 0 output: max abs diff 7e-09",
             "tract": "step 0: the implementation raises RuntimeError: the model failed to run"}
    assert onnx_runtimes.attribution(shown, lines).startswith("not attributed: the runtimes differ differently")
    lines["tract"] = "step 0 output: max abs diff 0.5"
    assert onnx_runtimes.attribution(shown, lines).startswith("the converter's")


def test_each_target_names_its_own_runtime_and_module():
    assert {runtime for runtime, _ in onnx_runtimes.RUNTIMES.values()} == set(ALL)
    for target, (_, module) in onnx_runtimes.RUNTIMES.items():
        spec = targets.TARGETS[target]
        assert spec.impl == module
        assert spec.pins == targets.TARGETS["onnx"].pins  # one environment holds every runtime
        assert targets.env_dir(target) == targets.env_dir("onnx")


def _results(tmp_path):
    (tmp_path / "repro").mkdir()
    for name in ("d-0001.py", "d-0002.py", "c-0001.py"):
        (tmp_path / "repro" / name).write_text("")
    return {"discrepancies": [{"id": "d-0001", "repro": "repro/d-0001.py"},
                              {"id": "d-0002", "repro": "repro/d-0002.py"},
                              {"id": "d-0003", "repro": None}],
            "root_causes": [{"id": "c-0001", "source": "suite", "repro": "repro/c-0001.py"}]}


def test_every_discrepancy_is_replayed_on_every_runtime_and_attributed(tmp_path):
    # Stand-in runtimes: tract alone differs on d-0001; every runtime differs on d-0002 and c-0001.
    data, asked = _results(tmp_path), []

    def replay_one(script, target):
        asked.append((os.path.basename(script), target))
        shows = target == "onnx-tract" or not script.endswith("d-0001.py")
        return shows, f"{target} differs" if shows else "agrees with the oracle"

    onnx_runtimes.attribute(str(tmp_path), data, "onnx-reference", replay_one=replay_one)
    d1, d2, d3 = data["discrepancies"]
    assert d1["attribution"].startswith("the runtime's (tract)")
    assert d1["runtimes"]["tract"] == {"shows": True, "line": "onnx-tract differs"}
    assert d1["runtimes"]["onnxruntime"]["shows"] is False
    assert d2["attribution"].startswith("the converter's (tf2onnx)")
    assert data["root_causes"][0]["attribution"].startswith("the converter's")
    assert "attribution" not in d3  # no reproducer: nothing to replay
    assert sorted(asked) == sorted((s, t) for s in ("d-0001.py", "d-0002.py", "c-0001.py")
                                   for t in onnx_runtimes.RUNTIMES)


def test_replays_stop_at_their_limit_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_runtimes, "MAX_REPLAYED", 2)
    data = _results(tmp_path)
    onnx_runtimes.attribute(str(tmp_path), data, "onnx", replay_one=lambda *_: (True, ""))
    assert [bool(d.get("runtimes")) for d in data["discrepancies"][:2]] == [True, True]
    assert "runtimes" not in data["root_causes"][0]
    assert data["root_causes"][0]["attribution"].startswith("not replayed")


def test_other_targets_are_not_replayed(tmp_path):
    data = _results(tmp_path)
    onnx_runtimes.attribute(str(tmp_path), data, "tflite", replay_one=lambda *_: pytest.fail("replayed"))
    assert all("attribution" not in d for d in data["discrepancies"])


@pytest.mark.parametrize("body, expected", [
    ('print("== oracle"); print("  step 0: x"); print("step 0: values differ by 0.5"); '
     'print("discrepancy persists"); sys.exit(1)', (True, "step 0: values differ by 0.5")),
    ('print("no discrepancy: both sides agree"); sys.exit(0)', (False, "agrees with the oracle")),
    ('print("errors, nesting, shapes and dtypes agree"); sys.exit(2)', (None, "exit 2: errors, nesting, shapes and dtypes agree")),
    ('raise SystemExit(1)', (None, "exit 1: ")),  # died without judging: not a difference
    ('print("step 0: the implementation raises NotImplementedError: no Loop; the oracle does not"); '
     'print("discrepancy persists"); sys.exit(1)',
     ("unsupported", "step 0: the implementation raises NotImplementedError: no Loop; the oracle does not")),
])
def test_a_replay_reads_the_reproducers_verdict(tmp_path, body, expected):
    script = tmp_path / "d-0001.py"
    script.write_text("import sys\nassert sys.argv[1:] == ['--impl', 'some.module']\n" + body + "\n")
    assert onnx_runtimes.replay(str(script), "some.module", sys.executable) == expected


needs_env = pytest.mark.skipif(not targets.installed(targets.TARGETS["onnx"]),
                               reason="target onnx's environment is not installed (rnnconf check --impl onnx creates it)")

_AGREE = """
import json, sys
from rnnconf.engine import judge; from rnnconf.adapters import namespaces
impl, oracle = namespaces.resolve(sys.argv[1]), namespaces.resolve("tf_keras")
# What all three run right: ONNX's fused LSTM (batch 1: tract fails on more) and GRU ops. A mask makes
# tf2onnx write a Loop, which tract lacks and the reference evaluator mis-stacks (upstream/).
cases = [{"layer": "LSTM", "batch": 1, "cells": [{"kind": "lstm", "units": 3}], "flags": {"return_state": True}},
         {"layer": "GRU", "cells": [{"kind": "gru", "units": 3}], "flags": {"return_sequences": True}}]
print(json.dumps([judge.run_and_judge(impl, oracle, case)[2]["status"] for case in cases]))
"""


@needs_env
@pytest.mark.parametrize("target", list(onnx_runtimes.RUNTIMES))
def test_each_runtime_runs_the_converted_model_as_keras_computes_it(target):
    env = dict(os.environ, PYTHONPATH=onnx_runtimes.SOURCE_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([targets.python_of(target), "-c", _AGREE, targets.TARGETS[target].impl],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["pass", "pass"]


_TRACT = """
import json, sys
from rnnconf.engine import execute, judge; from rnnconf.adapters import namespaces
impl, oracle = namespaces.resolve(sys.argv[1]), namespaces.resolve("tf_keras")
cases = [  # a float64 LSTM cell (tract's Sigmoid is f16/f32 only); an ONNX LSTM of batch 3 over 5 steps whose
    # cell state is an output besides another (return_state)
    {"cells": [{"kind": "lstm", "units": 2}], "flags": {"unroll": True}, "dtype": "float64", "batch": 3,
     "timesteps": 5, "features": [1]},
    {"cells": [{"kind": "lstm", "units": 3}], "flags": {"return_sequences": True, "return_state": True}, "batch": 3,
     "timesteps": 5},
    # tract's fused LSTM cell: "LstmEpilogue only supports f32 and f16 preactivations, got F64"
    {"cells": [{"kind": "lstm", "units": 3}], "flags": {"return_sequences": True}, "dtype": "float64", "batch": 3}]
verdicts = [judge.run_and_judge(impl, oracle, case)[2] for case in cases]
print(json.dumps([{"status": v["status"], "detail": v["detail"]} for v in verdicts]))
"""


@needs_env
def test_tract_lacking_a_kernel_is_unsupported_and_its_other_failures_fail():
    env = dict(os.environ, PYTHONPATH=onnx_runtimes.SOURCE_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([targets.python_of("onnx-tract"), "-c", _TRACT, targets.TARGETS["onnx-tract"].impl],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    no_f64_sigmoid, clashing, no_f64_lstm_cell = json.loads(done.stdout.strip().splitlines()[-1])
    assert no_f64_sigmoid["status"] == "unsupported", no_f64_sigmoid
    assert "tract: Sigmoid does not support F64" in no_f64_sigmoid["detail"]
    # fails to run (upstream/tract_lstm_batch_over_one.py): tract's bug, a failure
    assert clashing["status"] == "fail" and "model failed to run" in clashing["detail"], clashing
    assert no_f64_lstm_cell["status"] == "unsupported", no_f64_lstm_cell
    assert "tract: LstmEpilogue only supports f32 and f16 preactivations, got F64" in no_f64_lstm_cell["detail"]
