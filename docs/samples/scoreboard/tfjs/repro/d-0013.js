#!/usr/bin/env node
/* rnnconf d-0013: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-03, CELL-01, CELL-04, CELL-08, SHAPE-01, SHAPE-04).
 *
 * step 0 output: output[1, 0] value, spread (distance from the pooled median): oracle mean 0.01268 sd 0.0126, implementation mean 6.253e-05 sd 0.0001084 (400 samples each); KS D=0.973, p<=2.1e-215 < 3.3e-08 (alpha 1e-06 over 30 tests; 30 flag)
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0013.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 3, "use_bias": true, "recurrent_dropout": 0.25}], "cell_list": false, "flags": {"go_backwards": false}, "dtype": "float32", "batch": 3, "timesteps": 5, "features": [1], "mask": null, "initial_state": false, "initial_state_form": "tuple_outer", "constants": null, "training": true, "embedding": null, "steps": [{"op": "call"}], "reverse_inputs": false, "seed": 721, "weights_seed": null, "weight_scale": 0.7, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"mean": {"shape": [3, 3], "data": [-0.25892576899379494, 0.11104024603962898, -0.16372358363121747, -0.33576454006135464, 0.01362131831665465, -0.16712148740887642, -0.26613448474556206, -0.20142508758231997, -0.27930058911442757], "sd": [0.016742384833099287, 0.022557091288873014, 0.004611937646734428, 0.01496552216814028, 0.019155450861193198, 0.003587408312243607, 0.018714285747582812, 0.04317447162052987, 0.008757396072336549]}}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o20, o21, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o20 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "recurrentDropout": 0.25, "units": 3});
  o21 = tf.layers.rnn({"dtype": "float32", "cell": o20});
  x = tf.tensor([-0.36987433, -1.5991584, 0.39995593, -0.8938308, 1.2172608, 0.9033239, 0.094858065, -0.75422114, -0.16351451, 1.4739199, -0.8184184, 1.9185888, 0.25772756, 1.120569, 0.55251], [3, 5, 1], 'float32');
  result = o21.apply(x, {training: true});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o21.setWeights([tf.tensor([1.2336932, -0.65759057, 0.93752015, 0.8572002, 1.1983113, 0.7948946, -0.6885454, -0.8591643, -0.95937777, 0.8210775, -0.80398047, -0.63862544], [1, 12], 'float32'), tf.tensor([-0.900195, 0.11356035, -0.087033056, 0.74137014, -0.03849353, -0.16085443, 0.101108596, 0.4706034, -0.12039456, 0.08495619, -0.17951214, 0.2090182, -0.10656286, 0.5901588, 0.3835925, 0.4051096, -0.6869683, 0.0152553385, 0.15118793, -0.2218764, -0.1217602, 0.38632864, 0.23996042, -0.105594866, -0.18407936, 0.1631401, 0.066189855, 0.98712844, -0.027720332, 0.31174415, -0.34447777, 0.54125357, -0.835321, 0.065749794, -0.26663506, 0.013735168], [3, 12], 'float32'), tf.tensor([-0.3454012, -0.07419563, 0.3180516, 0.41386303, 0.41725042, 0.5450629, -0.123714745, 0.24077001, -0.7972636, -0.82934004, 1.0097418, -0.43122455], [12], 'float32')]);
    x = tf.tensor([-0.36987433, -1.5991584, 0.39995593, -0.8938308, 1.2172608, 0.9033239, 0.094858065, -0.75422114, -0.16351451, 1.4739199, -0.8184184, 1.9185888, 0.25772756, 1.120569, 0.55251], [3, 5, 1], 'float32');
    result = o21.apply(x, {training: true});
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
