"""The short snippet that leads a bug report (repro/d-XXXX.md): the shrunk case in the target's own
API only, about fifteen lines a maintainer can paste into their tracker.

It imports NumPy and the implementation's layers module (`import keras.layers as layers`, or the
module a --impl path names), never rnnconf nor the oracle. It builds the case's layer, calls it once
to build its weights and then sets them to a fixed ramp (np.linspace over each weight), feeds the
case's own inputs, mask and states rounded to two decimals as literals, runs its steps, and asserts
what the oracle returns on exactly that code: the nesting of the results, their values within
rnnconf.engine.compare's rounding bound, or the error the oracle raises (its class, and the facts its
message states for a catalogued error path). The expected values come from running the same code on
the oracle, in this process, so the snippet passes on the oracle by construction; `check(...)`
runs it from an empty directory on the implementation to keep only snippets that show the bug.

Not written (the full replay script stands alone then): custom cells, an Embedding, constants,
dropout while training (random), a layer reused from an earlier case, calls with another batch or
the list-input form, and converter targets (no layers API of their own).
"""
import importlib
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from rnnconf.engine import compare, error_catalog
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import flag, initial_state_for, inputs_for, is_stochastic, mask_for, normalize, reset_states_for
from rnnconf.adapters import targets
from rnnconf.reports.repro_source import _call_source, _layer_args, runnable

DECIMALS = 2
MAX_NUMBERS = 60  # data numbers beyond which no snippet is written: it would not be short
RAMP = ("layer.set_weights([np.linspace(-0.6, 0.6, w.size).reshape(w.shape).astype(w.dtype)\n"
        "                   for w in layer.get_weights()])")


class NoSnippet(Exception):
    """The case is outside what a short snippet shows (the message says why)."""


def layers_import(impl):
    """(the import line that binds `layers`, the environment lines before it) for --impl `impl`."""
    module, environment = runnable(impl)
    if module.startswith("rnnconf."):
        raise NoSnippet(f"{impl} is rnnconf's adapter of a converted model, with no layers API of its own")
    path, _, attribute = namespaces.SHORT_NAMES.get(module, module).partition(":")
    line = f"from {path} import {attribute} as layers" if attribute else f"import {path} as layers"
    env = [f"os.environ[{k!r}] = {v!r}" for k, v in environment.items()]
    return line, (["import os"] + env if env else [])


def _array(a, dtype):
    values = np.round(np.asarray(a, dtype=np.float64), DECIMALS).tolist()
    return f"np.array({values}, {dtype!r})"


def _data_and_run(case):
    """(data lines, run lines) of the case on `layers`: the run leaves its results in `out` (one
    entry per call or read of the states) or, for an error, the exception in `raised`."""
    if any(c["kind"] == "custom" for c in case["cells"]):
        raise NoSnippet("custom cells need their code: see the full script")
    if case["embedding"] or case["constants"] or case.get("warmup") or is_stochastic(case):
        raise NoSnippet("an Embedding, constants, dropout while training or a reused layer: see the full script")
    steps = case["steps"] or [{"op": "call"}]
    if any(s.get("batch") or s.get("list_input") for s in steps):
        raise NoSnippet("calls with another batch or the list-input form: see the full script")
    dtype = case["dtype"]
    data, run, numbers = [], [], 0
    mask = mask_for(case)
    if mask is not None:
        data.append(f"mask = np.array({mask.tolist()})")
    calls = 0
    for index, step in enumerate(steps):
        op = step.get("op", "call")
        if op == "call":
            x = inputs_for(case, index)
            numbers += x.size
            data.append(f"x{index} = {_array(x, dtype)}")
            args = [f"x{index}"] + (["mask=mask"] if mask is not None else [])
            if case["initial_state"] or step.get("initial_state"):
                states = initial_state_for(case, index, step, np.asarray)
                if not isinstance(states, list):
                    raise NoSnippet("initial_state in another form than a list: see the full script")
                flat = [np.asarray(s) for s in states]
                numbers += sum(s.size for s in flat)
                data.append(f"h{index} = [{', '.join(_array(s, dtype) for s in flat)}]")
                args.append(f"initial_state=h{index}")
            if case["training"] is not None:
                args.append(f"training={case['training']}")
            call = f"layer({', '.join(args)})"
            if calls == 0:
                run.append(f"{call}  # builds the weights")
                run.append(RAMP)
                if flag(case, "stateful"):
                    run.append("layer.reset_states()")
            run.append(f"out.append({call})")
            calls += 1
        elif op == "reset":
            what = step.get("states")
            if what is None:
                run.append("layer.reset_states()")
            else:
                states = reset_states_for(case, index, what)
                flat = states if isinstance(states, list) else [states]
                numbers += sum(np.size(s) for s in flat)
                literal = (_array(states, dtype) if not isinstance(states, list)
                           else f"[{', '.join(_array(s, dtype) for s in flat)}]")
                data.append(f"r{index} = {literal}")
                run.append(f"layer.reset_states(r{index})")
        elif op == "states":
            run.append("out.append([np.array(s) for s in layer.states or []])")
    if calls == 0:
        raise NoSnippet("no call to build the layer: see the full script")
    if numbers > MAX_NUMBERS:
        raise NoSnippet(f"{numbers} numbers of data: too many for a short snippet, see the full script")
    # A stateful layer gets its batch size from its first call, which both APIs take (Keras 3 has no
    # batch_input_shape).
    name, kwargs, cells = _layer_args(case)
    args = kwargs if cells is None else [f"[{', '.join(cells[0])}]" if cells[1] else cells[0][0]] + kwargs
    return data, [_call_source("layer = " + name, args, column=0)] + ["out = []"] + run


def _oracle_module(oracle):
    path, _, attribute = namespaces.SHORT_NAMES.get(oracle, oracle).partition(":")
    if path.startswith("tf_keras"):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    module = importlib.import_module(path)
    return getattr(module, attribute) if attribute else module


def _on(layers, data, run, tensors=False):
    """Run the snippet's code on `layers`: (out, raised)."""
    scope = {"np": np, "layers": layers}
    exec("\n".join(data), scope)
    if tensors:  # tf_keras takes NumPy inputs, but wants tensors as initial states (ERR-25)
        import tensorflow as tf
        for name in [n for n in scope if re.fullmatch(r"h\d+", n)]:
            scope[name] = [tf.constant(s) for s in scope[name]]
    try:
        exec("\n".join(run), scope)
    except Exception as e:  # noqa: BLE001 - the oracle's error is what the snippet expects
        return scope.get("out"), e
    return scope["out"], None


def _leaves(result):
    if isinstance(result, (list, tuple)):
        return [leaf for item in result for leaf in _leaves(item)]
    return [np.asarray(result)]


def _shapes(result):
    if isinstance(result, (list, tuple)):
        return [_shapes(item) for item in result]
    return list(np.shape(result))


def _number(v, dtype):
    return float(f"{v:.17g}") if dtype == np.float64 else float(f"{v:.9g}")


def _checks(case, out, raised, item):
    """The lines asserting the oracle's outcome `out` / `raised`."""
    kind = item.get("kind", "value")
    if raised is not None:
        lines = [f"assert type(raised).__name__ == {type(raised).__name__!r}, "
                 f"f\"expected {type(raised).__name__}, got {{raised!r}}\""]
        error = {"type": type(raised).__name__, "message": str(raised)}
        err_id = error_catalog.classify(error, case)
        entry = error_catalog.CATALOG.get(err_id)
        names = [f for f in (entry or {}).get("facts", ()) if entry and f in entry["pattern"].groupindex]
        found = entry["pattern"].search(str(raised)) if names else None
        if found:
            facts = {n: found.group(n) for n in names}
            lines.append(f"facts = re.search({entry['pattern'].pattern!r}, str(raised))")
            lines.append(f"assert facts and {{n: facts.group(n) for n in {names!r}}} == {facts!r}, raised")
        return lines
    lines = ["assert raised is None, f\"the oracle raises nothing here, got {raised!r}\""] if kind == "error" else []
    lines.append("def shapes(r): return [shapes(t) for t in r] if isinstance(r, (list, tuple)) else list(np.shape(r))")
    lines.append(f"assert shapes(out) == {_shapes(out)!r}, shapes(out)")
    if kind in ("structure", "shape", "error"):
        return lines
    leaves = _leaves(out)
    steps = compare.recurrent_steps(case, len(case["steps"] or [1]) - 1)
    expected, bounds = [], []
    for leaf in leaves:
        values = np.asarray(leaf, dtype=np.float64)
        dtype = np.asarray(leaf).dtype if np.issubdtype(np.asarray(leaf).dtype, np.floating) else np.float32
        expected.append(np.vectorize(lambda v, d=dtype: _number(v, d))(values).tolist())
        bounds.append(float(f"{compare.tolerance(dtype, steps, values):.3g}"))
    lines.append("def leaves(r): return [a for t in r for a in leaves(t)] if isinstance(r, (list, tuple)) "
                 "else [np.asarray(r, 'float64')]")
    lines.append(f"expected = {expected!r}")
    lines.append(f"for got, want, bound in zip(leaves(out), expected, {bounds!r}):")
    lines.append("    np.testing.assert_allclose(got, want, rtol=0, atol=bound)  # rounding bound")
    return lines


def snippet(item, impl, oracle):
    """The snippet's source for a discrepancy item; NoSnippet where none can be written."""
    case = normalize(item["config"])
    import_line, env = layers_import(impl)
    data, run = _data_and_run(case)
    layers = _oracle_module(oracle)
    out, raised = _on(layers, data, run, tensors=namespaces.SHORT_NAMES.get(oracle, oracle).startswith("tf_keras"))
    if raised is not None and item.get("kind") != "error":
        raise NoSnippet(f"the oracle raises {type(raised).__name__} on the snippet: see the full script")
    if item.get("kind") == "dtype":
        raise NoSnippet("a dtype discrepancy: see the full script")
    checks = _checks(case, out, raised, item)
    head = env + ["import numpy as np"] + (["import re"] if any("re.search" in c for c in checks) else [])
    body = ["try:"] + ["    " + line for line in "\n".join(run).split("\n")] + [
        "    raised = None", "except Exception as e:", "    raised = e"]
    if item.get("kind") != "error":
        body = run
    text = "\n".join(head + [import_line, ""] + data + body + checks) + "\n"
    return text


def check(text, impl, timeout=120):
    """Run a snippet from an empty directory with the implementation's interpreter: its exit status,
    and what it printed."""
    split = targets.split_remote(impl)
    env = dict(os.environ)
    if split:
        python = split[1]
    elif impl in targets.TARGETS:
        python = targets.python_of(impl)  # its own environment: none of this one's packages
    else:  # a module path: importable from here, as the campaign's workers import it
        python = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p and os.path.isdir(p))
    with tempfile.TemporaryDirectory() as empty:
        path = os.path.join(empty, "snippet.py")
        with open(path, "w") as f:
            f.write(text)
        try:
            done = subprocess.run([python, path], cwd=empty, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "timed out"
    return done.returncode, (done.stdout + done.stderr).strip()
