#!/usr/bin/env node
/* rnnconf d-0004: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-03, CELL-01, CELL-04, CELL-08, SHAPE-01, SHAPE-04).
 *
 * step 0 output: output[2, 0] value, spread (distance from the pooled median): oracle mean 0.009174 sd 0.005894, implementation mean 0.0008132 sd 0.0004701 (400 samples each); KS D=0.927, p<=1.1e-186 < 5e-08 (alpha 1e-06 over 20 tests; 20 flag)
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0004.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 2, "recurrent_dropout": 0.5}], "cell_list": false, "flags": {}, "dtype": "float32", "batch": 3, "timesteps": 3, "features": [3], "mask": null, "initial_state": false, "initial_state_form": null, "constants": null, "training": true, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 623, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"mean": {"shape": [3, 2], "data": [0.24960267566144467, -0.010477540003776084, 0.08612819893285632, -0.008265378978103399, 0.05922124177217483, 0.18782038267701864], "sd": [0.01282640806652222, 0.006332454295686022, 0.01584445369228199, 0.003275423328872575, 0.00637411612231213, 0.006007795195237089]}}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o8, o9, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o8 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "recurrentDropout": 0.5, "units": 2});
  o9 = tf.layers.rnn({"dtype": "float32", "cell": o8});
  x = tf.tensor([0.9117866, 0.0961847, 0.38608178, -1.1604728, 0.8213818, -0.07432211, -1.3671232, -0.30938038, -1.8779943, 1.978923, 1.5181223, 0.9678074, 1.6535975, -1.7635283, -1.0297276, -0.5687811, -0.20070915, -0.2611154, 1.288796, 2.2161674, 0.7039179, 0.28121352, 0.11787451, 1.8321028, 0.2840357, 0.8014119, -0.7139373], [3, 3, 3], 'float32');
  result = o9.apply(x, {training: true});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o9.setWeights([tf.tensor([-0.6862979, -0.21183091, -0.95086426, 0.45783228, 0.2208122, 0.27054048, 0.038081236, 1.228314, 0.013413817, -0.1313286, -0.26318532, 0.29636836, 0.007996203, 0.68076754, -0.49869335, -0.8657424, 0.29003334, -0.788098, 0.5472898, 0.12995318, -0.47680342, 0.025139429, -0.5169713, -0.5676773], [3, 8], 'float32'), tf.tensor([-2.250813, -0.15618826, 0.20192707, -0.743366, -0.90041107, -0.12145416, -0.5181648, -0.93004286, 0.35038227, 0.42808735, -0.22519737, -0.4600349, -0.37294742, 0.6783921, -0.02837767, 0.80829865], [2, 8], 'float32'), tf.tensor([-0.5479238, -0.5489823, 0.29488513, 0.4640696, 0.31534195, 0.403983, -0.1706091, -0.44856364], [8], 'float32')]);
    x = tf.tensor([0.9117866, 0.0961847, 0.38608178, -1.1604728, 0.8213818, -0.07432211, -1.3671232, -0.30938038, -1.8779943, 1.978923, 1.5181223, 0.9678074, 1.6535975, -1.7635283, -1.0297276, -0.5687811, -0.20070915, -0.2611154, 1.288796, 2.2161674, 0.7039179, 0.28121352, 0.11787451, 1.8321028, 0.2840357, 0.8014119, -0.7139373], [3, 3, 3], 'float32');
    result = o9.apply(x, {training: true});
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
