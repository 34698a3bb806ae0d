#!/usr/bin/env node
/* rnnconf d-0006: structure discrepancy between TensorFlow.js and Keras 2 (CALL-01, CELL-01, CELL-04, CELL-08, CELL-10, FLAG-04, SHAPE-01, SHAPE-04, STATE-01, STATE-02).
 *
 * step 1 result: expected [[array(2, 2), array(2, 2)], [array(2, 2), array(2, 2)], [array(2, 2), array(2, 2)]], got [array(2, 2), array(2, 2), array(2, 2), array(2, 2), array(2, 2), array(2, 2)]
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0006.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns for the same layer, weights and data (per step: the values with the float32 rounding bound they are compared within, or the error class it raises).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 2}, {"kind": "lstm", "units": 2}, {"kind": "lstm", "units": 2}], "cell_list": true, "flags": {"stateful": true}, "dtype": "float32", "batch": 2, "timesteps": 3, "features": [3], "mask": null, "initial_state": false, "initial_state_form": null, "constants": null, "training": null, "embedding": null, "steps": [{"op": "call"}, {"op": "states"}], "reverse_inputs": false, "seed": 0, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"value": {"shape": [2, 2], "data": [-0.10037506371736526, -0.019937679171562195, -0.10058840364217758, -0.020589107647538185], "tol": 5.038093888742878e-05}}, {"value": [[{"shape": [2, 2], "data": [-0.20410291850566864, -0.21562637388706207, 0.34129559993743896, -0.17828401923179626], "tol": 0.00012279927977942862}, {"shape": [2, 2], "data": [-0.40263423323631287, -0.34109702706336975, 0.45852893590927124, -0.26716774702072144], "tol": 0.0001335323122475529}], [{"shape": [2, 2], "data": [-0.1889386922121048, 0.021965010091662407, -0.1323799192905426, 0.05724339932203293], "tol": 0.00010885058827625471}, {"shape": [2, 2], "data": [-0.476876437664032, 0.03605838119983673, -0.38700002431869507, 0.10387475788593292], "tol": 0.00013521207620215137}], [{"shape": [2, 2], "data": [-0.10037506371736526, -0.019937679171562195, -0.10058840364217758, -0.020589107647538185], "tol": 0.00010076187777485757}, {"shape": [2, 2], "data": [-0.2185361534357071, -0.03339704871177673, -0.21886274218559265, -0.033671390265226364], "tol": 0.00011159021687490167}]]}];
const SAMPLES = 0;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o12, o13, o14, o15, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o12 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 2});
  o13 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 2});
  o14 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 2});
  o15 = tf.layers.rnn({"stateful": true, "dtype": "float32", "batchInputShape": [2, 3, 3], "cell": [o12, o13, o14]});
  x = tf.tensor([0.71931696, 0.20316437, -0.5199672, -0.39148158, 0.40783587, -1.000717, -1.2859633, -1.2220773, -0.2030824, -1.7616397, -0.10646271, -0.6803298, 1.9351912, 0.27308518, -1.539719, -0.035821114, 1.3595634, -1.5811284], [2, 3, 3], 'float32');
  result = o15.apply(x);
  o15.setWeights([tf.tensor([-0.07897734, 0.41940275, 0.7734663, -0.014928613, 0.3289627, 0.33208275, -0.099909134, -1.1905855, -0.028053218, -0.2253276, 0.370735, 0.6217595, 0.93296254, 0.31848228, 0.328811, 0.7758544, -0.057062283, 1.0434897, -0.56980383, 0.2657788, 0.12533642, 0.87634486, -0.4035409, 0.25866598], [3, 8], 'float32'), tf.tensor([-0.66112596, -0.2836416, -0.0659114, -0.79979664, 0.20142956, 0.08559753, 0.46178442, 0.7316939, 0.9714201, 0.13339701, 1.1823368, -0.2733897, -0.31157607, 0.025492992, -0.011637601, 0.6231493], [2, 8], 'float32'), tf.tensor([-0.011665482, 0.30982095, -0.6086011, 0.16309315, 0.12266493, 0.18776834, 0.25203374, 0.059359744], [8], 'float32'), tf.tensor([0.955285, -0.83678424, -1.3705807, -0.84789175, 0.5733754, 0.7917434, -0.47977328, -0.33542562, -0.72078425, -0.44490898, 0.22990549, -1.7800219, 0.75739205, 0.6906784, 0.041717235, -0.22806877], [2, 8], 'float32'), tf.tensor([-0.58967036, 0.15784872, 0.9720516, -0.08012252, 0.8402044, -0.06890163, 0.38015467, 0.28130615, 0.45013943, 0.031885903, 0.6354539, -0.2732359, 1.1836258, -0.34187278, -0.011805544, 0.5690735], [2, 8], 'float32'), tf.tensor([0.5543616, -0.8699879, 0.03378839, 0.7758766, -0.29822758, 0.17413239, -0.3510595, 0.31743854], [8], 'float32'), tf.tensor([-0.22026643, 0.5023204, 0.7336778, 0.46571168, 0.817868, -0.3687447, 0.5586214, 0.47441038, 0.07370472, -0.23297092, -0.79094875, 0.31382224, -0.6853278, -0.45219755, -1.1214509, 0.6430233], [2, 8], 'float32'), tf.tensor([0.8105979, 0.7196344, -0.23481746, -0.029587498, 0.0055915285, -0.7580718, -1.3234721, -1.3086303, -0.64174044, 1.0075407, -0.40722886, 0.46423644, -0.6621851, 0.47536767, 0.0015609805, 0.13246599], [2, 8], 'float32'), tf.tensor([-0.20371756, -0.5272378, 0.124337785, -0.5269271, -0.16027236, -0.14213394, -0.104983866, 0.37370047], [8], 'float32')]);
  o15.resetStates();
  result = null;
}

function steps() {
  const actual = [];
  // step 0
  try {
    x = tf.tensor([0.71931696, 0.20316437, -0.5199672, -0.39148158, 0.40783587, -1.000717, -1.2859633, -1.2220773, -0.2030824, -1.7616397, -0.10646271, -0.6803298, 1.9351912, 0.27308518, -1.539719, -0.035821114, 1.3595634, -1.5811284], [2, 3, 3], 'float32');
    result = o15.apply(x);
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 1
  try {
    result = o15.states;
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
