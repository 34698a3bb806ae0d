#!/usr/bin/env node
/* rnnconf d-0003: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-04, CELL-01, CELL-03, CELL-08, CELL-10, INIT-01, SHAPE-01, SHAPE-04).
 *
 * step 0 output: max abs diff 0.181 (max rel 0.369) at (0, 0): expected -0.9942068457603455, got -0.993429958820343
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0003.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns for the same layer, weights and data (per step: the values with the float32 rounding bound they are compared within, or the error class it raises).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "simple", "units": 2}, {"kind": "simple", "units": 2}], "cell_list": true, "flags": {"stateful": false}, "dtype": "float32", "batch": 4, "timesteps": 3, "features": [2], "mask": null, "initial_state": true, "initial_state_form": null, "constants": null, "training": null, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 44757, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"value": {"shape": [4, 2], "data": [-0.9942068457603455, 0.9704089164733887, -0.4916839301586151, 0.37808626890182495, -0.8643127679824829, 0.6931199431419373, 0.35197001695632935, -0.5924281477928162], "tol": 6.085836321290117e-05}}];
const SAMPLES = 0;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o5, o6, o7, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o5 = tf.layers.simpleRNNCell({"dtype": "float32", "units": 2});
  o6 = tf.layers.simpleRNNCell({"dtype": "float32", "units": 2});
  o7 = tf.layers.rnn({"dtype": "float32", "cell": [o5, o6]});
  x = tf.tensor([1.3893, -0.23097378, 0.43504247, -1.5718448, 0.60795, -2.5555272, 0.51205665, -0.7841045, -0.5744555, 0.5919621, 0.3891093, 0.61965895, 1.3371241, -0.5550763, 1.1232398, -1.0158916, 0.16874187, -1.08252, -0.5394715, -0.930879, 1.3197392, 0.094403274, 0.10135774, 1.5587054], [4, 3, 2], 'float32');
  result = o7.apply(x, {initialState: [tf.tensor([-0.858927, -0.7190221, -0.7687807, -0.32207286, -1.9086008e-04, -0.36610013, 0.19944187, -0.49851558], [4, 2], 'float32'), tf.tensor([-0.19916214, 0.7451924, 0.9247301, -1.0731213, -0.78163064, 0.017541628, 0.5941775, -0.43167463], [4, 2], 'float32')]});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o7.setWeights([tf.tensor([0.0009395191, -0.799718, -0.9159521, 0.09593436], [2, 2], 'float32'), tf.tensor([0.30549183, -0.39205614, 1.3697941, -0.55590653], [2, 2], 'float32'), tf.tensor([0.16628937, -0.02108231], [2], 'float32'), tf.tensor([-1.2885251, 1.2589767, 0.8488917, -0.3818428], [2, 2], 'float32'), tf.tensor([-1.2994249e-03, 0.4157787, -0.7961845, 0.85858667], [2, 2], 'float32'), tf.tensor([-0.3746397, 0.25372127], [2], 'float32')]);
    x = tf.tensor([1.3893, -0.23097378, 0.43504247, -1.5718448, 0.60795, -2.5555272, 0.51205665, -0.7841045, -0.5744555, 0.5919621, 0.3891093, 0.61965895, 1.3371241, -0.5550763, 1.1232398, -1.0158916, 0.16874187, -1.08252, -0.5394715, -0.930879, 1.3197392, 0.094403274, 0.10135774, 1.5587054], [4, 3, 2], 'float32');
    result = o7.apply(x, {initialState: [tf.tensor([-0.858927, -0.7190221, -0.7687807, -0.32207286, -1.9086008e-04, -0.36610013, 0.19944187, -0.49851558], [4, 2], 'float32'), tf.tensor([-0.19916214, 0.7451924, 0.9247301, -1.0731213, -0.78163064, 0.017541628, 0.5941775, -0.43167463], [4, 2], 'float32')]});
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
