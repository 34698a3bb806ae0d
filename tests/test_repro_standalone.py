"""Standalone reproducers (fuzz/repro.py): scripts that import only NumPy, the oracle's package and
the implementation's, with the case's data as literals.

Two kinds of checks. In-process, on the NumPy reference: the script's `run` computes bit for bit
what conformance.execute.run computes, for every case feature. In a subprocess that cannot import
rnnconf (its editable install is taken off the import system; only copies of impl/ and the planted
targets are importable), each script, copied alone into an empty folder and run from another,
exits 1 against its planted bug and 0 against the oracle itself and the reference. The subprocess
imports TensorFlow once and runs every script in it (runpy, as `python script.py` would).
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance import execute, judge, namespaces
from conformance.cases import is_stochastic, normalize
from fuzz import repro

TESTS = Path(__file__).parent
ROOT = TESTS.parent

# (name, planted target, case): each case fails on its target against tf_keras.
CASES = [
    ("gru_value", "gru_recurrent_bias_dropped",
     {"cells": [{"kind": "gru", "units": 2}], "batch": 1, "timesteps": 2}),
    ("stateful_resets", "stateful_forgets",
     {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True}, "timesteps": 3,
      "steps": [{"op": "call"}, {"op": "call"}, {"op": "reset"}, {"op": "call"},
                {"op": "reset", "states": "random"}, {"op": "call"}, {"op": "states"}]}),
    ("masked_go_backwards", "backwards_not_reversed",
     {"cells": [{"kind": "lstm", "units": 2}], "flags": {"go_backwards": True, "return_sequences": True},
      "timesteps": 3, "mask": [[1, 1, 0], [1, 0, 1]]}),
    ("time_major_mask", "mask_ignored",
     {"cells": [{"kind": "simple", "units": 2}], "flags": {"time_major": True, "return_sequences": True},
      "timesteps": 3, "mask": [[1, 1, 0], [1, 0, 0]]}),
    ("embedding_mask", "mask_ignored",
     {"cells": [{"kind": "gru", "units": 2, "reset_after": False}], "timesteps": 3, "embedding": {"vocab": 5},
      "mask": [[1, 1, 0], [1, 0, 0]], "dtype": "float64"}),
    ("custom_constants", "constants_first_step_only",
     {"cells": [{"kind": "custom", "variant": "constants", "units": 2}], "constants": [[2]], "timesteps": 3}),
    ("custom_initial_state", "initial_state_ignored",
     {"cells": [{"kind": "custom", "variant": "multi_state", "units": 2}], "initial_state": True,
      "initial_state_form": "tuple", "timesteps": 2}),
    ("error_facts", "reset_counts_swapped",
     {"cells": [{"kind": "lstm", "units": 2}], "flags": {"stateful": True},
      "steps": [{"op": "call"}, {"op": "reset", "states": "wrong_count"}]}),
    ("warmup", "mask_cached_at_build",
     {"cells": [{"kind": "simple", "units": 2}], "timesteps": 3, "mask": [[1, 1, 0], [1, 0, 1]],
      "warmup": {"seed": 1, "mask": [[1, 1, 1], [1, 1, 1]]}}),
    ("large_data", "gru_recurrent_bias_dropped",
     {"cells": [{"kind": "gru", "units": 8}], "batch": 3, "timesteps": 5, "features": [4]}),
    # Forward-exact, gradient-wrong: the script differentiates both sides.
    ("gradient_state_cut", "grad_state_cut",
     {"cells": [{"kind": "lstm", "units": 2}], "gradients": True, "initial_state": True, "timesteps": 3,
      "flags": {"return_state": True}}),
    ("gradient_mask_leak", "grad_mask_leak",
     {"cells": [{"kind": "gru", "units": 2}], "gradients": True, "timesteps": 3, "mask": [[1, 0, 1], [0, 1, 1]],
      "flags": {"stateful": True, "return_sequences": True}, "steps": [{"op": "call"}, {"op": "call"}]}),
]
# Dropout while training: a difference of distributions, which a reproducer cannot test by itself.
DROPOUT = ("dropout_distribution", "dropout_no_scaling",
           {"cells": [{"kind": "simple", "units": 2, "dropout": 0.5}], "training": True, "batch": 1, "timesteps": 2})
VERSIONS = {"python": "3.11", "numpy": np.__version__, "tf_keras": "2.21.0"}

# Run in the sanitized subprocess: takes rnnconf's editable install off the import system, checks
# that nothing of rnnconf is importable but the copies in SITE, then runs each script as __main__.
RUNNER = r"""
import contextlib, importlib.util, io, json, os, runpy, sys
site, jobs = sys.argv[1], json.loads(sys.argv[2])
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in (getattr(f, "__module__", "") or "")]
sys.path_hooks[:] = [h for h in sys.path_hooks if "Editable" not in repr(h)]
sys.path[:] = [site] + [p for p in sys.path if p and "__editable__" not in p]
sys.path_importer_cache.clear()
for name in ("conformance", "fuzz", "rnnconf", "reports"):
    assert importlib.util.find_spec(name) is None, f"{name} is importable"
assert importlib.util.find_spec("impl").origin.startswith(site)
results = []
for script, cwd, args in jobs:
    os.chdir(cwd)
    out = io.StringIO()
    sys.argv = [script] + args
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    results.append({"script": script, "args": args, "code": code, "stdout": out.getvalue()})
print("RESULTS " + json.dumps(results))
"""


def item_for(name, target, case):
    """A results.json discrepancy item of `case` on the planted `target`, judged against the reference
    (the oracle's NumPy copy) so that no TensorFlow is needed here."""
    expected, actual, j = judge.run_and_judge(namespaces.resolve(f"fuzz_targets.{target}"),
                                             namespaces.resolve("reference"), case)
    assert j["status"] == "fail", (name, j)
    return {"id": f"d-{name}", "kind": j["kind"], "config": case, "detail": j["detail"],
            "repro": f"repro/{name}.py", "fingerprint": j["fingerprint"],
            "mismatches": [m.to_dict() for m in j["mismatches"]]}


@pytest.fixture(scope="module", autouse=True)
def _importable_targets():
    sys.path.insert(0, str(TESTS))
    yield
    sys.path.remove(str(TESTS))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """{name: (item, script path, text)} for every case, written by repro.write against tf_keras."""
    out = tmp_path_factory.mktemp("out")
    found = {}
    for name, target, case in CASES:
        item = item_for(name, target, case)
        path = Path(repro.write(str(out), item, f"fuzz_targets.{target}", "tf_keras", versions=VERSIONS))
        found[name] = (item, path, path.read_text())
    name, target, case = DROPOUT
    item = {"id": f"d-{name}", "kind": "value", "config": case, "repro": f"repro/{name}.py",
            "detail": "step 0 output: the distributions differ (two-sample tests over 400 samples a side)",
            "fingerprint": {"kind": "value", "core": "distribution of the output of the first call"}}
    path = Path(repro.write(str(out), item, f"fuzz_targets.{target}", "tf_keras", versions=VERSIONS))
    found[name] = (item, path, path.read_text())
    return found


@pytest.fixture(scope="module")
def standalone_runs(written, tmp_path_factory):
    """{(name, impl or None): (exit status, stdout)} of every script run in the sanitized subprocess,
    each from an empty folder of its own with the script (and its .npz) copied alone into another."""
    base = tmp_path_factory.mktemp("standalone")
    site = base / "site"
    shutil.copytree(ROOT / "impl", site / "impl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(TESTS / "fuzz_targets", site / "fuzz_targets", ignore=shutil.ignore_patterns("__pycache__"))
    jobs, keys = [], []
    for name, (_, path, _) in written.items():
        alone, cwd = base / name, base / f"{name}-cwd"
        alone.mkdir()
        cwd.mkdir()
        for file in path.parent.glob(path.stem + ".*"):
            if file.suffix in (".py", ".npz"):
                shutil.copy(file, alone)
        for impl in (None, "tf_keras", "reference"):
            jobs.append([str(alone / path.name), str(cwd), [] if impl is None else ["--impl", impl]])
            keys.append((name, impl))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(OPENBLAS_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(site), json.dumps(jobs)], cwd=base,
                          env=env, capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(line[len("RESULTS "):])
    return {key: (r["code"], r["stdout"]) for key, r in zip(keys, results)}


# ---- standalone: exits 1 while the bug is there, 0 without it --------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_a_reproducer_fails_on_its_bug_and_passes_on_the_oracle_and_the_reference(standalone_runs, name):
    """Run alone from an empty folder without rnnconf importable, a reproducer exits 1 against the
    planted bug it was written for, and 0 with --impl tf_keras (the oracle against itself) and with
    --impl reference."""
    code, out = standalone_runs[(name, None)]
    assert code == 1 and "discrepancy persists" in out, out
    assert "== oracle (tf_keras)" in out and "== implementation (fuzz_targets." in out, out
    for impl in ("tf_keras", "reference"):
        code, out = standalone_runs[(name, impl)]
        assert code == 0 and "no discrepancy: both sides agree" in out, (impl, out)


@pytest.mark.oracle
def test_a_dropout_distribution_is_not_judged_by_a_reproducer(standalone_runs, written):
    """Under dropout a reproducer compares errors, nesting, shapes and dtypes, and where those agree
    on a distribution discrepancy it exits 2 (undecided), never 0; it says so in its docstring."""
    for impl in (None, "tf_keras", "reference"):
        code, out = standalone_runs[(DROPOUT[0], impl)]
        assert code == 2 and "values not compared" in out, (impl, out)
    _, path, text = written[DROPOUT[0]]
    assert "Not reproduced here: the values differ in distribution under dropout" in text
    assert ("output of the first call differs in distribution from tf_keras's under dropout"
            in path.with_suffix(".md").read_text())


@pytest.mark.oracle
def test_a_reproducer_prints_what_differs(standalone_runs):
    """The printed difference is the value's max abs diff and where it is, or the two errors (with
    the facts the implementation's message misses)."""
    _, value = standalone_runs[("gru_value", None)]
    assert re.search(r"step 0 output: max abs diff \S+ where rounding allows \S+; first at \(0, \d\): "
                     r"expected \S+, got \S+", value), value
    _, error = standalone_runs[("error_facts", None)]
    assert "step 1: both raise ValueError, but the implementation's message does not state" in error, error
    assert "expected='2'" in error and "received='3'" in error, error
    _, stateful = standalone_runs[("stateful_resets", None)]
    differing = re.findall(r"^step (\d) (\S+): max abs diff", stateful, re.M)
    assert differing == [("1", "output"), ("5", "output"), ("6", "layer.states[0]")], stateful


# ---- the text -----------------------------------------------------------------------------------------
def test_a_reproducer_imports_nothing_of_rnnconf_and_names_no_absolute_path(written):
    """The script imports the standard library, NumPy and (by name, at run time) the namespaces only,
    TensorFlow for a custom cell's math where the namespace is tf_keras', and the automatic
    differentiation of the namespace's framework inside the function that uses it (a gradient
    discrepancy: tf.GradientTape, jax.vjp, torch autograd); neither it nor the bug
    report imports rnnconf's packages or names an absolute path."""
    for name, (item, path, text) in written.items():
        imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(text))
                    if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])}
        custom = any(c["kind"] == "custom" for c in item["config"]["cells"])
        allowed = {"argparse", "importlib", "os", "re", "signal", "sys", "types", "numpy"} | (
            {"tensorflow"} if custom else set()) | (
            {"tensorflow", "jax", "torch"} if item["config"].get("gradients") else set())  # autodiff, at run time
        assert imported <= allowed, (name, imported)
        report = path.with_suffix(".md").read_text()
        for content in (text, report):
            assert not re.search(r"^\s*(from|import)\s+(conformance|fuzz|rnnconf|reports|bench)\b", content, re.M), name
            assert str(ROOT) not in content and str(path.parent) not in content, name
            assert not re.search(r"""["'](/|[A-Za-z]:\\)""", content), name


def test_a_built_in_cell_reproducer_is_a_handful_of_lines_plus_data(written):
    """The GRU case: the layer with its non-default arguments only, the build call, the weights, the call."""
    text = written["gru_value"][2]
    body = text.split("def run(layers, steps):\n", 1)[1].split("\n\n\n", 1)[0].splitlines()[1:]
    assert [line.strip().split("  #")[0] for line in body] == [
        "layer = layers.RNN(layers.GRUCell(2))", "layer(X)", "layer.set_weights(WEIGHTS)", "steps.add(layer(X))"]
    assert "dtype=" not in text.split("def run", 1)[1].split("# ---- running", 1)[0]
    embedded = written["embedding_mask"][2]
    assert ('layers.RNN(layers.GRUCell(2, reset_after=False, dtype="float64"), dtype="float64")' in embedded
            and 'layers.Embedding(5, 3, mask_zero=True, dtype="float64")' in embedded)
    assert "X = np.array([[[" in text and "dtype=np.float32)" in text


def test_large_data_goes_to_an_npz_beside_the_script(written):
    """Beyond 200 numbers the float arrays are in d-XXXX.npz, read from beside the script (not the
    working directory); small ones stay literals."""
    _, path, text = written["large_data"]
    assert path.with_suffix(".npz").exists()
    assert 'os.path.join(os.path.dirname(os.path.abspath(__file__)), "large_data.npz")' in text
    assert 'WEIGHTS = [DATA["WEIGHTS_0"], DATA["WEIGHTS_1"], DATA["WEIGHTS_2"]]' in text
    assert not written["gru_value"][1].with_suffix(".npz").exists()


def test_the_bug_report_has_versions_summary_expected_actual_and_the_script(written, tmp_path):
    """d-XXXX.md: versions, a one-sentence summary, expected vs actual, the script in a code block;
    without `versions` it takes those of results.json beside repro/."""
    item, path, text = written["gru_value"]
    report = path.with_suffix(".md").read_text()
    assert f"numpy {np.__version__}" in report and "tf_keras 2.21.0" in report
    assert "**Summary.** `RNN(GRUCell(2))` on a float32 input of shape (1, 2, 3): " in report
    assert re.search(r"\*\*Expected\*\* \(tf_keras \(tf_keras.layers\)\): \S+ at step 0 output \(0, \d\)", report), report
    assert re.search(r"\*\*Actual\*\* \(fuzz_targets.gru_recurrent_bias_dropped\): \S+", report), report
    assert f"```python\n{text.rstrip()}\n```" in report
    error = written["error_facts"][1].with_suffix(".md").read_text()
    assert "both raise ValueError" in error and "raises ValueError: Layer" in error, error
    (tmp_path / "results.json").write_text(json.dumps({"versions": {"keras": "3.15.1"}}))
    script = Path(repro.write(str(tmp_path), item, "keras3", "tf_keras"))
    assert "**Versions.** keras 3.15.1" in script.with_suffix(".md").read_text()


# ---- faithful: the script computes what execute.run computes -------------------------------------------
FAITHFUL = [c for _, _, c in CASES] + [
    {"cells": [{"kind": "custom", "variant": v, "units": 2}], "timesteps": 2}
    for v in ("minimal", "multi_no_out", "init_state", "training", "bare_state", "bad_state", "few_states")
] + [
    {"cells": [{"kind": "custom", "variant": "hd_state", "units": 2}], "cell_list": True, "features": [2, 3],
     "dtype": "float64", "initial_state": True},
    {"cells": [{"kind": "custom", "variant": "training", "units": 2}], "training": True},
    {"cells": [{"kind": "custom", "variant": "multi_state", "units": 2}, {"kind": "custom", "variant": "init_state",
                                                                         "units": 3}, {"kind": "lstm", "units": 2}],
     "flags": {"return_state": True}, "initial_state": True, "initial_state_form": "too_many_in_cell"},
    {"cells": [{"kind": "custom", "variant": "needs_constants", "units": 2}], "constants": [[2]],
     "steps": [{"op": "call", "list_input": True}]},
    {"cells": [{"kind": "custom", "variant": "constants_bare_state", "units": 2}], "constants": [[2]], "timesteps": 2},
    {"cells": [{"kind": "simple", "units": 2}], "initial_state": True, "initial_state_form": "tensor",
     "steps": [{"op": "call", "list_input": True}]},
    {"cells": [{"kind": "lstm", "units": 2, "unit_forget_bias": False, "implementation": 1}],
     "flags": {"stateful": True, "return_state": True},
     "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call", "initial_state": True},
               {"op": "states"}, {"op": "reset", "states": "wrong_width"}]},
    {"cells": [{"kind": "simple", "units": 2}], "flags": {"stateful": True}, "steps": [{"op": "call"},
                                                                                    {"op": "call", "batch": 3}]},
    {"layer": "GRU", "cells": [{"kind": "gru", "units": 3, "activation": "relu", "use_bias": True}],
     "dtype": "float64", "flags": {"go_backwards": True, "unroll": True, "return_sequences": False},
     "weight_scale": 1.3, "perturbation": [1e-7, 1], "reverse_inputs": True},
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 3}], "flags": {"zero_output_for_mask": True,
                                                                                     "return_sequences": True},
     "mask": [[1, 0, 1, 1], [0, 0, 0, 0]], "initial_state": True, "initial_state_form": "flat"},
    {"cells": [{"kind": "simple", "units": 2}], "mask": [[1, 1, 0], [1, 0, 1]], "timesteps": 3,
     "flags": {"stateful": True}, "steps": [{"op": "call"}, {"op": "call"}],
     "warmup": {"seed": 4, "weight_scale": 0.7, "mask": [[1, 1, 1], [0, 1, 1]]}},
    {"cells": [{"kind": "simple", "units": 0}]},
    {"cells": [{"kind": "simple", "units": 2, "dropout": 0.5}], "training": True},
    {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 3, "reset_after": False}], "gradients": True,
     "flags": {"go_backwards": True, "return_state": True}, "initial_state": True, "dtype": "float64"},
    {"layer": "LSTM", "cells": [{"kind": "lstm", "units": 2}], "gradients": True, "mask": [[1, 1, 0], [0, 1, 1]],
     "timesteps": 3, "flags": {"time_major": True, "return_sequences": True, "unroll": True}},
]


def _same(x, y):
    if isinstance(x, list) or isinstance(y, list):
        return isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and all(map(_same, x, y))
    if x is None or y is None:
        return x is None and y is None
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True)


def _shapes(x):
    return [_shapes(v) for v in x] if isinstance(x, list) else None if x is None else (x.dtype, x.shape)


@pytest.mark.parametrize("case", FAITHFUL, ids=lambda c: json.dumps(c)[:80])
def test_the_script_computes_what_execute_computes(case):
    """On the (deterministic) reference, the script's run gives execute.run's results bit for bit, or
    the same error at the same step; for a case with dropout while training, the same structure."""
    target = namespaces.resolve("reference")
    outcome = execute.run(target, case)
    error = judge.first_error(outcome)  # recorded as a campaign records the oracle's error
    item = {"id": "d-0001", "kind": "error" if error else "value", "config": case, "detail": "",
            "repro": "repro/d-0001.py", "mismatches": [{"kind": "error", "stats": {"expected": error}}] if error else []}
    text, _ = repro.script(item, "reference", "tf_keras")
    scope = {"__name__": "reproducer"}
    exec(compile(text, "reproducer", "exec"), scope)
    got = scope["outcome"](target.ns)
    want = [outcome["error"]] if outcome["error"] else [s.get("error", s.get("result")) for s in outcome["steps"]]
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        if isinstance(w, dict):
            assert isinstance(g, Exception) and type(g).__name__ == w["type"], (g, w)
        elif is_stochastic(normalize(case)):
            assert _shapes(g) == _shapes(execute.to_numpy(w) if w is not None else None)
        else:
            assert _same(g, w if w is None else execute.to_numpy(w)), (g, w)
    if normalize(case)["gradients"]:  # and the same gradients, bit for bit, each under its name
        from conformance.gradients import named_leaves
        got_gradients = scope["outcome"](target.ns).gradients
        for i, step in enumerate(outcome["steps"]):
            want = [(n, None if g is None else np.asarray(g)) for n, g in named_leaves(step["gradients"])]
            assert [n for n, _ in got_gradients[i]] == [n for n, _ in want]
            assert all(_same(g, w) for (_, g), (_, w) in zip(got_gradients[i], want)), i


@pytest.mark.parametrize("target, module, needs", [
    ("keras3-jax", "keras3", ['os.environ.setdefault("KERAS_BACKEND", "jax")', "keras==3.15.1 jax==0.10.2",
                              "and the oracle's, tensorflow==2.21.0 tf-keras==2.21.0"]),
    ("onnx", "rnnconf.converters.onnx", ["tf2onnx==1.17.0", "PYTHONPATH"]),
])
def test_a_targets_reproducer_imports_its_module_in_its_environment(target, module, needs):
    item = {"id": "d-0001", "repro": "repro/d-0001.py", "kind": "value", "clauses": ["CALL-01"],
            "config": {"cells": [{"kind": "simple", "units": 2}], "dtype": "float64"}, "detail": "differs"}
    text, _ = repro.script(item, target, "tf_keras")
    ast.parse(text)
    assert f"IMPL = \"{module}\"" in text
    flat = " ".join(text.split())  # the docstring wraps its lines
    for words in needs:
        assert words in flat, words
