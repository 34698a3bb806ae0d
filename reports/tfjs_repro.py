"""Standalone JavaScript reproducers of tfjs discrepancies: DIR/repro/d-XXXX.js (and d-XXXX.md).

`node d-0001.js` (with `npm install @tensorflow/tfjs@4.22.0` in that directory or above) exits 1
while the discrepancy persists, 0 once it is gone, 2 when tfjs cannot be loaded. It is written to be
pasted into a tfjs issue: tfjs API calls only, the case's weights and data as literals, and the
oracle's (tf_keras 2.21) results embedded as the expected values.

How it is written: the case is run on rnnconf's tfjs namespace with the bridge recording every
operation it sends to tfjs (adapters/tfjs/__init__.py), and each recorded operation becomes a line of
tfjs code: the script does exactly what rnnconf's run did. The expected values come from running the
case on the oracle (rnnconf.engine.execute.run), each result with compare.py's rounding bound (the
float64 recheck is not reproduced, as in reports/repro.py's Python reproducers); an expected error is
matched by class name (compare.same_error_class's classes), not by its message's facts.
"""
import contextlib
import json
import os
import re

import numpy as np

from rnnconf.engine import compare, dropout, execute
from rnnconf.adapters import namespaces
from rnnconf.engine.cases import flag, is_stochastic, normalize

from rnnconf.adapters.tfjs import ARGUMENTS, TFJS_VERSION, _BRIDGE, decode

FACTORIES = {"SimpleRNNCell": "simpleRNNCell", "GRUCell": "gruCell", "LSTMCell": "lstmCell",
             "StackedRNNCells": "stackedRNNCells", "RNN": "rnn", "SimpleRNN": "simpleRNN", "GRU": "gru",
             "LSTM": "lstm", "Embedding": "embedding"}


@contextlib.contextmanager
def recording():
    """The ops the bridge sends while inside, as a list of (op, value or {"error": ...}); a step's
    start is recorded as ("step", index) (execute.Runner.run_step)."""
    record = []
    request = _BRIDGE.request
    run_step = execute.Runner.run_step

    def recorded_request(*ops):
        pending = list(_BRIDGE._pending)
        try:
            values = request(*ops)
        except Exception as e:
            record.extend((op, None) for op in pending + list(ops))
            record.append(("error", {"type": type(e).__name__, "message": str(e)}))
            raise
        record.extend((op, None) for op in pending)
        record.extend(zip(ops, values))
        return values

    def marked_run_step(runner, index, step):
        record.append(("step", index))
        return run_step(runner, index, step)

    _BRIDGE.request = recorded_request
    execute.Runner.run_step = marked_run_step
    try:
        yield record
    finally:
        del _BRIDGE.request
        execute.Runner.run_step = run_step


def _number(value):
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = np.format_float_positional(value, unique=True, trim="-")
    return text if len(text) <= 12 else np.format_float_scientific(value, unique=True, trim="-")


def _tensor(encoded):
    """tfjs source for an encoded array (or a list nest of them)."""
    if isinstance(encoded, list):
        return "[" + ", ".join(_tensor(e) for e in encoded) + "]"
    array = decode(encoded)
    if encoded["dtype"] == "bool":
        data = ", ".join("true" if v else "false" for v in array.ravel())
    elif encoded["dtype"] == "int32":
        data = ", ".join(str(int(v)) for v in array.ravel())
    else:
        data = ", ".join(_number(v) for v in array.ravel())
    return f"tf.tensor([{data}], {json.dumps(encoded['shape'])}, '{encoded['dtype']}')"


def _args(args):
    text = json.dumps(args)
    return re.sub(r'\{"\$object": (\d+)\}', r"o\1", text)


def _op_lines(op):
    """The tfjs statements of one recorded op; the last assigns `result` where the op has one."""
    kind = op["op"]
    name = f"o{op.get('id')}"
    if kind == "new":
        return [f"{name} = tf.layers.{FACTORIES[op['cls']]}({_args(op['args'])});"]
    if kind == "call":
        options = []
        for key in ("mask", "training", "initialState", "constants"):
            if key in op["kwargs"]:
                value = op["kwargs"][key]
                options.append(f"{key}: {json.dumps(value) if key == 'training' else _tensor(value)}")
        lines = [f"x = {_tensor(op['inputs'])};"]
        if "embedding" in op:  # as between two layers of a tfjs model: the upstream mask travels
            lines += [f"mask = o{op['embedding']}.computeMask(x);", f"x = o{op['embedding']}.apply(x);"]
            options.insert(0, "mask")
        lines.append(f"result = {name}.apply(x" + (", {" + ", ".join(options) + "}" if options else "") + ");")
        return lines
    if kind == "setWeights":
        return [f"{name}.setWeights({_tensor(op['weights'])});"]
    if kind == "resetStates":
        return [f"{name}.resetStates({_tensor(op['states']) if 'states' in op else ''});", "result = null;"]
    if kind == "states":
        return [f"result = {name}.states;"]
    return []  # getWeights, dispose, clear, versions: rnnconf's reading and housekeeping


def _expected(outcome, case):
    """The oracle's outcome as the script's EXPECTED: per step {"error": [accepted class names],
    "message"} or {"value": nest of {"shape", "data", "tol"}}; a construction error is step 0's."""
    def nest(x, steps):
        if x is None:
            return None
        if isinstance(x, list):
            return [nest(v, steps) for v in x]
        x = np.asarray(x)
        floating = np.issubdtype(x.dtype, np.floating)
        tol = float(compare.tolerance(x.dtype, steps, x.astype(np.float64))) if floating else 0.0
        return {"shape": list(x.shape), "data": [float(v) for v in x.ravel()], "tol": tol}

    def error(err):
        accepted = sorted({err["type"], *[n for n in err.get("mro", []) if n not in ("Exception", "BaseException",
                                                                                        "object")],
                           *compare.ERROR_EQUIVALENTS.get(err["type"], ())})
        return {"error": accepted, "message": err["message"].splitlines()[0][:300]}

    if outcome["error"]:
        return [error(outcome["error"])]
    out = []
    for index, step in enumerate(outcome["steps"]):
        if "error" in step:
            out.append(error(step["error"]))
            break
        out.append({"value": nest(step["result"], compare.recurrent_steps(case, index))})
    return out


def script(item, oracle="tf_keras", samples=dropout.SAMPLES):
    """The reproducer's source for a results.json discrepancy item. A stochastic case (dropout while
    training) is run `samples` times on one layer (as rnnconf samples an implementation) and judged
    on the per-element means, against the oracle's `samples` samples."""
    case = normalize(item["config"])
    stochastic = is_stochastic(case)
    oracle_target = namespaces.resolve(oracle)
    if stochastic:
        expected = _expected_samples(dropout.sample(oracle_target, case, samples, per_call=samples))
    else:
        expected = _expected(execute.run(oracle_target, case), case)
    target = namespaces.resolve("tfjs")
    with recording() as record:
        execute.run(target, case)
    starts = [i for i, (op, value) in enumerate(record) if op == "step" and value == 0]
    first = starts[-1] if starts else len(record)
    setup, body = record[:first], record[first:]
    names = sorted({f"o{op['id']}" for op, _ in record if isinstance(op, dict) and op.get("op") == "new"})
    lines = ["// Build the layer with its first call, then set the case's weights."]
    for op, _ in setup:
        if isinstance(op, dict):
            lines += _op_lines(op)
    steps, block = [], []
    for op, _ in body:
        if op == "step":
            if block:
                steps.append(block)
            block = []
        elif isinstance(op, dict):
            block += _op_lines(op)
    if block:
        steps.append(block)
    step_code = "\n".join(
        f"  // step {i}\n  try {{\n" + "\n".join("    " + line for line in block)
        + "\n    actual.push({value: result});\n  } catch (e) {\n    actual.push({error: e});\n    return actual;\n  }"
        for i, block in enumerate(steps))
    layer_ids = [op["id"] for op, _ in record if isinstance(op, dict) and op.get("op") == "call"]
    reset = f"o{layer_ids[0]}.resetStates();" if stochastic and flag(case, "stateful") and layer_ids else ""
    detail = item.get("detail", "").replace("*/", "* /")
    return _TEMPLATE.format(
        id=item.get("id", "d-0000"), kind=item.get("kind", "?"), clauses=", ".join(item.get("clauses", [])),
        detail=detail, version=TFJS_VERSION, oracle=oracle, case=json.dumps(item["config"]).replace("*/", "* /"),
        declarations=", ".join(names + ["x", "mask", "result"]),
        setup="\n".join("  " + line for line in lines), steps=step_code, expected=json.dumps(expected),
        samples=samples if stochastic else 0, reset=reset,
        judged=("what Keras returns over the same number of samples: per element its mean and standard "
                "deviation (dropout while training draws random masks on both sides)") if stochastic else
               ("what Keras returns for the same layer, weights and data (per step: the values with the float32 "
                "rounding bound they are compared within, or the error class it raises)"))


def _expected_samples(outcome):
    """The oracle's samples as EXPECTED: per step {"mean": nest of {"shape", "data", "sd", "spread",
    "spread_sd"}} (data the per-element mean, sd its standard deviation over the samples; spread the
    mean distance of a sample from that mean, spread_sd that distance's standard deviation: dropout
    that keeps the mean can still change it), or its error."""
    def nest(x):
        if x is None:
            return None
        if isinstance(x, list):
            return [nest(v) for v in x]
        x = np.asarray(x, np.float64)
        distance = np.abs(x - x.mean(axis=0))
        return {"shape": list(x.shape[1:]), "data": [float(v) for v in x.mean(axis=0).ravel()],
                "sd": [float(v) for v in x.std(axis=0).ravel()],
                "spread": [float(v) for v in distance.mean(axis=0).ravel()],
                "spread_sd": [float(v) for v in distance.std(axis=0).ravel()]}
    out = []
    if outcome["error"]:
        return [{"error": [outcome["error"]["type"]], "message": outcome["error"]["message"][:300]}]
    for step in outcome["steps"]:
        if "error" in step:
            out.append({"error": [step["error"]["type"]], "message": step["error"]["message"][:300]})
            break
        out.append({"mean": nest(step["result"])})
    return out


def write(out_dir, item, oracle="tf_keras", versions=None):
    """Write DIR/repro/<id>.js and its bug report (.md) for a discrepancy; the item's `repro` names
    the script. Returns its path."""
    name = f"repro/{item['id']}.js"
    item["repro"] = name
    path = os.path.join(out_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = script(item, oracle)
    with open(path, "w") as f:
        f.write(text)
    versions = versions or {}
    with open(os.path.splitext(path)[0] + ".md", "w") as f:
        f.write(f"# tfjs {versions.get('tfjs', TFJS_VERSION)}: {item.get('kind')} discrepancy with Keras 2 "
                f"({', '.join(item.get('clauses', []))})\n\n{item.get('detail', '')}\n\n"
                f"Oracle: {oracle} {versions.get('tf_keras', '')}; Node {versions.get('node', '')}.\n\n"
                f"To reproduce: `npm install @tensorflow/tfjs@{TFJS_VERSION}` then `node {item['id']}.js` "
                f"(exit 1 while the difference persists).\n\n```js\n{text}```\n")
    return path


_TEMPLATE = """#!/usr/bin/env node
/* rnnconf {id}: {kind} discrepancy between TensorFlow.js and Keras 2 ({clauses}).
 *
 * {detail}
 *
 * Run: npm install @tensorflow/tfjs@{version} && node {id}.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds {judged}.
 * The case, as rnnconf describes it: {case}
 */
'use strict';
let tf;
try {{
  console.warn = () => {{}};  // tfjs' banner about tfjs-node
  tf = require('@tensorflow/tfjs');
}} catch (e) {{
  console.error('cannot load @tensorflow/tfjs: ' + e.message);
  process.exit(2);
}}
tf.setBackend('cpu');

const EXPECTED = {expected};
const SAMPLES = {samples};  // > 0: dropout while training, judged on SAMPLES runs of the steps

let {declarations};

function setup() {{
{setup}
}}

function steps() {{
  const actual = [];
{steps}
  return actual;
}}

function run() {{
  try {{
    setup();
  }} catch (e) {{
    return [{{error: e}}];
  }}
  if (!SAMPLES) return steps();
  const runs = [];  // SAMPLES runs of the steps on the same layer, as a user's training loop makes them
  for (let s = 0; s < SAMPLES; s++) {{
    {reset}
    const actual = steps();
    if (actual.some((r) => r.error)) return actual;
    runs.push(actual.map((r) => flat(r.value).map((t) => Array.from(t.dataSync()))));
  }}
  return runs[0].map((_, step) => ({{samples: runs.map((r) => r[step])}}));
}}

function flat(x) {{
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}}

function flatExpected(x) {{
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? x.flatMap(flatExpected) : [x];
}}

function describe(x) {{
  if (x === null || x === undefined) return 'null';
  if (Array.isArray(x)) return '[' + x.map(describe).join(', ') + ']';
  return 'tensor' + JSON.stringify(x.shape);
}}

function differences(expected, actual, where, out) {{
  if (expected === null || expected === undefined) {{
    if (actual !== null && actual !== undefined) out.push(`${{where}}: expected nothing, got ${{describe(actual)}}`);
    return;
  }}
  if (Array.isArray(expected)) {{
    if (!Array.isArray(actual) || actual.length !== expected.length) {{
      out.push(`${{where}}: expected ${{expected.length}} results nested as Keras nests them, got ${{describe(actual)}}`);
      return;
    }}
    expected.forEach((e, i) => differences(e, actual[i], `${{where}}[${{i}}]`, out));
    return;
  }}
  if (!actual || Array.isArray(actual) || !actual.shape) {{
    out.push(`${{where}}: expected a tensor of shape ${{JSON.stringify(expected.shape)}}, got ${{describe(actual)}}`);
    return;
  }}
  if (JSON.stringify(actual.shape) !== JSON.stringify(expected.shape)) {{
    out.push(`${{where}}: expected shape ${{JSON.stringify(expected.shape)}}, got ${{JSON.stringify(actual.shape)}}`);
    return;
  }}
  const values = Array.from(actual.dataSync(), Number);
  let worst = -1, worstDiff = 0;
  values.forEach((a, i) => {{
    const e = expected.data[i];
    const same = (Number.isNaN(e) && Number.isNaN(a)) || a === e || Math.abs(a - e) <= expected.tol;
    if (!same && (worst < 0 || !(Math.abs(a - e) <= worstDiff))) {{ worst = i; worstDiff = Math.abs(a - e); }}
  }});
  if (worst >= 0) {{
    out.push(`${{where}}: values differ beyond ${{expected.tol.toExponential(2)}}: at flat index ${{worst}} ` +
             `Keras ${{expected.data[worst]}}, tfjs ${{values[worst]}}`);
  }}
}}

function meanAndSd(xs) {{
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
}}

function sampleDifferences(expected, samples, where, out) {{
  // Per element, the two sample means differ by more than 6 standard errors (a false alarm has
  // probability about 2e-9 per element); so do the mean distances of a sample from Keras' mean
  // (dropout that keeps the mean can still spread the values otherwise).
  flatExpected(expected).forEach((e, leaf) => {{
    const n = samples.length;
    e.data.forEach((keras, i) => {{
      const xs = samples.map((s) => s[leaf][i]);
      const [mean, sd] = meanAndSd(xs);
      const bound = 6 * Math.sqrt((e.sd[i] ** 2 + sd ** 2) / n) + 1e-6;
      if (!(Math.abs(mean - keras) <= bound)) {{
        out.push(`${{where}} result ${{leaf}} element ${{i}}: mean over ${{n}} samples Keras ${{keras.toFixed(4)}} ` +
                 `(sd ${{e.sd[i].toFixed(4)}}), tfjs ${{mean.toFixed(4)}} (sd ${{sd.toFixed(4)}})`);
        return;
      }}
      const [spread, spreadSd] = meanAndSd(xs.map((x) => Math.abs(x - keras)));
      const spreadBound = 6 * Math.sqrt((e.spread_sd[i] ** 2 + spreadSd ** 2) / n) + 1e-6;
      if (!(Math.abs(spread - e.spread[i]) <= spreadBound)) {{
        out.push(`${{where}} result ${{leaf}} element ${{i}}: mean distance from Keras' mean over ${{n}} samples ` +
                 `Keras ${{e.spread[i].toFixed(4)}}, tfjs ${{spread.toFixed(4)}} (the same mean, spread otherwise)`);
      }}
    }});
  }});
}}

const actual = run();
const found = [];
EXPECTED.forEach((want, i) => {{
  const got = actual[i];
  const where = `step ${{i}}`;
  if (got === undefined) {{
    found.push(`${{where}}: tfjs stopped before it`);
  }} else if (want.error) {{
    if (!got.error) {{
      found.push(`${{where}}: Keras raises ${{want.error[0]}}: ${{want.message}}; tfjs does not`);
    }} else if (!want.error.includes(got.error.constructor.name)) {{
      found.push(`${{where}}: Keras raises ${{want.error[0]}} (${{want.message}}); tfjs ${{got.error.constructor.name}}: ${{got.error.message}}`);
    }}
  }} else if (got.error) {{
    found.push(`${{where}}: tfjs raises ${{got.error.constructor.name}}: ${{got.error.message}}; Keras does not`);
  }} else if (want.mean) {{
    sampleDifferences(want.mean, got.samples, where, found);
  }} else {{
    differences(want.value, got.value, where, found);
  }}
}});
if (found.length) {{
  console.log('tfjs differs from Keras 2:\\n  ' + found.slice(0, 20).join('\\n  ') +
              (found.length > 20 ? `\\n  ... and ${{found.length - 20}} more` : ''));
  process.exit(1);
}}
console.log('tfjs matches Keras 2 on this case');
process.exit(0);
"""
