#!/usr/bin/env node
/* rnnconf d-0003: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-03, CELL-01, CELL-03, CELL-08, SHAPE-01, SHAPE-04).
 *
 * step 0 output: output[0, 1] value, spread (distance from the pooled median): oracle mean 0.03743 sd 0.02737, implementation mean 0.4432 sd 0.04298 (400 samples each); KS D=1.000, p<=1.1e-239 < 8.3e-08 (alpha 1e-06 over 12 tests; 12 flag)
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0003.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "gru", "units": 2, "reset_after": false, "recurrent_dropout": 0.5}], "cell_list": false, "flags": {}, "dtype": "float32", "batch": 2, "timesteps": 3, "features": [3], "mask": null, "initial_state": false, "initial_state_form": null, "constants": null, "training": true, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 0, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false, "reverse_cell_order": false}
 */
'use strict';
let tf;
try {
  console.warn = () => {};  // tfjs' banner about tfjs-node
  tf = require('@tensorflow/tfjs');
} catch (e) {
  console.error('cannot load @tensorflow/tfjs: ' + e.message);
  process.exit(2);
}
tf.setBackend('cpu');

const EXPECTED = [{"mean": {"shape": [2, 2], "data": [0.24250264033675195, -0.5665453912317753, 0.7893415673077107, -0.690494113266468], "sd": [0.12324887874446387, 0.03627608976059637, 0.05912553879688003, 0.04961376243397814], "spread": [0.10242758482694626, 0.030653920290619165, 0.05158856192454699, 0.047701433414220853], "spread_sd": [0.06854834774293453, 0.01939824371264609, 0.028886841581913184, 0.013641798748108037]}}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o5, o6, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o5 = tf.layers.gruCell({"recurrentActivation": "sigmoid", "resetAfter": false, "dtype": "float32", "recurrentDropout": 0.5, "units": 2});
  o6 = tf.layers.rnn({"dtype": "float32", "cell": o5});
  x = tf.tensor([0.71931696, 0.20316437, -0.5199672, -0.39148158, 0.40783587, -1.000717, -1.2859633, -1.2220773, -0.2030824, -1.7616397, -0.10646271, -0.6803298, 1.9351912, 0.27308518, -1.539719, -0.035821114, 1.3595634, -1.5811284], [2, 3, 3], 'float32');
  result = o6.apply(x, {training: true});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o6.setWeights([tf.tensor([-0.07897734, 0.41940275, 0.7734663, -0.014928613, 0.3289627, 0.33208275, -0.099909134, -1.1905855, -0.028053218, -0.2253276, 0.370735, 0.6217595, 0.93296254, 0.31848228, 0.328811, 0.7758544, -0.057062283, 1.0434897], [3, 6], 'float32'), tf.tensor([-0.69786435, 0.32551122, 0.15350515, 1.0732989, -0.49423468, 0.31679982, -0.66112596, -0.2836416, -0.0659114, -0.79979664, 0.20142956, 0.08559753], [2, 6], 'float32'), tf.tensor([0.32653087, 0.5173857, 0.68689775, 0.09432593, 0.8360384, -0.1933157], [6], 'float32')]);
    x = tf.tensor([0.71931696, 0.20316437, -0.5199672, -0.39148158, 0.40783587, -1.000717, -1.2859633, -1.2220773, -0.2030824, -1.7616397, -0.10646271, -0.6803298, 1.9351912, 0.27308518, -1.539719, -0.035821114, 1.3595634, -1.5811284], [2, 3, 3], 'float32');
    result = o6.apply(x, {training: true});
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  return actual;
}

function run() {
  try {
    setup();
  } catch (e) {
    return [{error: e}];
  }
  if (!SAMPLES) return steps();
  const runs = [];  // SAMPLES runs of the steps on the same layer, as a user's training loop makes them
  for (let s = 0; s < SAMPLES; s++) {
    
    const actual = steps();
    if (actual.some((r) => r.error)) return actual;
    runs.push(actual.map((r) => flat(r.value).map((t) => Array.from(t.dataSync()))));
  }
  return runs[0].map((_, step) => ({samples: runs.map((r) => r[step])}));
}

function flat(x) {
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

function flatExpected(x) {
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? x.flatMap(flatExpected) : [x];
}

function describe(x) {
  if (x === null || x === undefined) return 'null';
  if (Array.isArray(x)) return '[' + x.map(describe).join(', ') + ']';
  return 'tensor' + JSON.stringify(x.shape);
}

function differences(expected, actual, where, out) {
  if (expected === null || expected === undefined) {
    if (actual !== null && actual !== undefined) out.push(`${where}: expected nothing, got ${describe(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${where}: expected ${expected.length} results nested as Keras nests them, got ${describe(actual)}`);
      return;
    }
    expected.forEach((e, i) => differences(e, actual[i], `${where}[${i}]`, out));
    return;
  }
  if (!actual || Array.isArray(actual) || !actual.shape) {
    out.push(`${where}: expected a tensor of shape ${JSON.stringify(expected.shape)}, got ${describe(actual)}`);
    return;
  }
  if (JSON.stringify(actual.shape) !== JSON.stringify(expected.shape)) {
    out.push(`${where}: expected shape ${JSON.stringify(expected.shape)}, got ${JSON.stringify(actual.shape)}`);
    return;
  }
  const values = Array.from(actual.dataSync(), Number);
  let worst = -1, worstDiff = 0;
  values.forEach((a, i) => {
    const e = expected.data[i];
    const same = (Number.isNaN(e) && Number.isNaN(a)) || a === e || Math.abs(a - e) <= expected.tol;
    if (!same && (worst < 0 || !(Math.abs(a - e) <= worstDiff))) { worst = i; worstDiff = Math.abs(a - e); }
  });
  if (worst >= 0) {
    out.push(`${where}: values differ beyond ${expected.tol.toExponential(2)}: at flat index ${worst} ` +
             `Keras ${expected.data[worst]}, tfjs ${values[worst]}`);
  }
}

function meanAndSd(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
}

function sampleDifferences(expected, samples, where, out) {
  // Per element, the two sample means differ by more than 6 standard errors (a false alarm has
  // probability about 2e-9 per element); so do the mean distances of a sample from Keras' mean
  // (dropout that keeps the mean can still spread the values otherwise).
  flatExpected(expected).forEach((e, leaf) => {
    const n = samples.length;
    e.data.forEach((keras, i) => {
      const xs = samples.map((s) => s[leaf][i]);
      const [mean, sd] = meanAndSd(xs);
      const bound = 6 * Math.sqrt((e.sd[i] ** 2 + sd ** 2) / n) + 1e-6;
      if (!(Math.abs(mean - keras) <= bound)) {
        out.push(`${where} result ${leaf} element ${i}: mean over ${n} samples Keras ${keras.toFixed(4)} ` +
                 `(sd ${e.sd[i].toFixed(4)}), tfjs ${mean.toFixed(4)} (sd ${sd.toFixed(4)})`);
        return;
      }
      const [spread, spreadSd] = meanAndSd(xs.map((x) => Math.abs(x - keras)));
      const spreadBound = 6 * Math.sqrt((e.spread_sd[i] ** 2 + spreadSd ** 2) / n) + 1e-6;
      if (!(Math.abs(spread - e.spread[i]) <= spreadBound)) {
        out.push(`${where} result ${leaf} element ${i}: mean distance from Keras' mean over ${n} samples ` +
                 `Keras ${e.spread[i].toFixed(4)}, tfjs ${spread.toFixed(4)} (the same mean, spread otherwise)`);
      }
    });
  });
}

const actual = run();
const found = [];
EXPECTED.forEach((want, i) => {
  const got = actual[i];
  const where = `step ${i}`;
  if (got === undefined) {
    found.push(`${where}: tfjs stopped before it`);
  } else if (want.error) {
    if (!got.error) {
      found.push(`${where}: Keras raises ${want.error[0]}: ${want.message}; tfjs does not`);
    } else if (!want.error.includes(got.error.constructor.name)) {
      found.push(`${where}: Keras raises ${want.error[0]} (${want.message}); tfjs ${got.error.constructor.name}: ${got.error.message}`);
    }
  } else if (got.error) {
    found.push(`${where}: tfjs raises ${got.error.constructor.name}: ${got.error.message}; Keras does not`);
  } else if (want.mean) {
    sampleDifferences(want.mean, got.samples, where, found);
  } else {
    differences(want.value, got.value, where, found);
  }
});
if (found.length) {
  console.log('tfjs differs from Keras 2:\n  ' + found.slice(0, 20).join('\n  ') +
              (found.length > 20 ? `\n  ... and ${found.length - 20} more` : ''));
  process.exit(1);
}
console.log('tfjs matches Keras 2 on this case');
process.exit(0);
