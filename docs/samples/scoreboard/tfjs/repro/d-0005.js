#!/usr/bin/env node
/* rnnconf d-0005: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-03, CELL-01, CELL-03, CELL-08, SHAPE-01, SHAPE-04).
 *
 * step 0 output: output[1, 2] minus the previous batch row (axis 0), spread (distance from the pooled median): oracle mean 0.4595 sd 0.3971, implementation mean 0.2627 sd 0.3222 (400 samples each); KS D=0.378, p<=9e-26 < 2.5e-08 (alpha 1e-06 over 40 tests; 24 flag)
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0005.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "simple", "units": 4, "dropout": 0.5}], "cell_list": false, "flags": {}, "dtype": "float32", "batch": 3, "timesteps": 3, "features": [2], "mask": null, "initial_state": false, "initial_state_form": "tensor", "constants": null, "training": true, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 247, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"mean": {"shape": [3, 4], "data": [0.9172529476881027, 0.04043570265173912, -0.6852204871177673, 0.8572381603717804, 0.23774504859000445, -0.14245704602450132, -0.32249142102897166, 0.8906694096326828, 0.27849935352103783, 0.32879507906734945, 0.10884476073086262, 0.81941550552845], "sd": [0.06417112069102346, 0.26819763617395, 0.05302150631548931, 0.11813478340160913, 0.672519169890591, 0.08803835992867413, 0.47159171643625947, 0.1229605905259157, 0.4797818108808253, 0.5482970779535526, 0.5638851291900384, 0.10887457340314328]}}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o6, o7, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o6 = tf.layers.simpleRNNCell({"dtype": "float32", "dropout": 0.5, "units": 4});
  o7 = tf.layers.rnn({"dtype": "float32", "cell": o6});
  x = tf.tensor([-1.0421038, 1.2009742, -0.91801566, -1.3154241, -0.5474818, 0.43213484, 1.2291116, -0.15898941, 0.4598585, -1.2636753, 0.86737806, -0.23299167, 0.5829766, -1.8383167, 2.606036, 1.1901113, -0.39118928, 0.27374887], [3, 3, 2], 'float32');
  result = o7.apply(x, {training: true});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o7.setWeights([tf.tensor([-0.77526516, -0.47794408, 0.041489024, -0.07734642, -0.34744647, -0.063517965, 0.24814013, -0.9334424], [2, 4], 'float32'), tf.tensor([0.7630862, -0.7032194, -0.7132561, 0.042347547, 0.6952401, -6.0469303e-03, 0.019719092, -0.23111066, 0.1356161, -0.24746616, 0.012490662, -0.721894, 0.058642704, 0.19295517, -0.30842212, 0.20238614], [4, 4], 'float32'), tf.tensor([0.7586138, 0.16365285, 0.044325903, 1.1929829], [4], 'float32')]);
    x = tf.tensor([-1.0421038, 1.2009742, -0.91801566, -1.3154241, -0.5474818, 0.43213484, 1.2291116, -0.15898941, 0.4598585, -1.2636753, 0.86737806, -0.23299167, 0.5829766, -1.8383167, 2.606036, 1.1901113, -0.39118928, 0.27374887], [3, 3, 2], 'float32');
    result = o7.apply(x, {training: true});
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
