#!/usr/bin/env node
/* rnnconf d-0003: error discrepancy between TensorFlow.js and Keras 2 (CALL-01, CELL-01, CELL-03, CELL-08, ERR-27, SHAPE-01, SHAPE-04).
 *
 * step 0: both raise ValueError, but ERR-27: the implementation's message does not state the oracle's facts (shape: '(2, 4)' not stated). Oracle: 'Input 0 of layer "simple_rnn_22" is incompatible with the layer: expected ndim=3, found ndim=2. Full shape received: (2, 4)'; implementation: 'Input 0 is incompatible with layer simple_rnn_SimpleRNN98: expected ndim=3, found ndim=2'; the oracle says ValueError: Input 0 of layer "simple_rnn_22" is incompatible with the layer: expected ndim=3, found ndim=2. Full shape received: (2, 4), the implementation ValueError: Input 0 is incompatible with layer simple_rnn_SimpleRNN98: expected ndim=3, found ndim=2
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0003.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns for the same layer, weights and data (per step: the values with the float32 rounding bound they are compared within, or the error class it raises).
 * The case, as rnnconf describes it: {"layer": "SimpleRNN", "cells": [{"kind": "gru", "units": 2}], "cell_list": false, "flags": {}, "dtype": "float32", "batch": 2, "timesteps": 4, "features": [], "mask": null, "initial_state": false, "initial_state_form": null, "constants": null, "training": null, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 0, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"error": ["ValueError"], "message": "Input 0 of layer \"simple_rnn\" is incompatible with the layer: expected ndim=3, found ndim=2. Full shape received: (2, 4)"}];
const SAMPLES = 0;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o5, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o5 = tf.layers.simpleRNN({"dtype": "float32", "units": 2});
  x = tf.tensor([0.71931696, 0.20316437, -0.5199672, -0.39148158, 0.40783587, -1.000717, -1.2859633, -1.2220773], [2, 4], 'float32');
  result = o5.apply(x);
}

function steps() {
  const actual = [];

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

function sampleDifferences(expected, samples, where, out) {
  // Per element, the two sample means differ by more than 6 standard errors (a false alarm has
  // probability about 2e-9 per element).
  flatExpected(expected).forEach((e, leaf) => {
    const n = samples.length;
    e.data.forEach((keras, i) => {
      const xs = samples.map((s) => s[leaf][i]);
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      const bound = 6 * Math.sqrt((e.sd[i] ** 2 + sd ** 2) / n) + 1e-6;
      if (!(Math.abs(mean - keras) <= bound)) {
        out.push(`${where} result ${leaf} element ${i}: mean over ${n} samples Keras ${keras.toFixed(4)} ` +
                 `(sd ${e.sd[i].toFixed(4)}), tfjs ${mean.toFixed(4)} (sd ${sd.toFixed(4)})`);
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
