#!/usr/bin/env node
/* rnnconf d-0005: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-02, CELL-01, CELL-04, CELL-08, FLAG-04, INIT-02, MASK-01, SHAPE-01, SHAPE-04, STATE-01, STATE-02, STATE-03, STATE-04).
 *
 * step 3 output: max abs diff 0.186 (max rel 1.86e+29) at (0, 0): expected 0.0, got 0.18614792823791504
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0005.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns for the same layer, weights and data (per step: the values with the float32 rounding bound they are compared within, or the error class it raises).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 1, "implementation": 2}], "cell_list": false, "flags": {"stateful": true, "unroll": false}, "dtype": "float32", "batch": 2, "timesteps": 6, "features": [4], "mask": [[0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1]], "initial_state": false, "initial_state_form": "tuple_outer", "constants": null, "training": null, "embedding": null, "steps": [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "states"}, {"op": "call"}], "reverse_inputs": false, "seed": 519076394, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false, "reverse_cell_order": false}
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

const EXPECTED = [{"value": {"shape": [2, 1], "data": [0.0, -0.11465393751859665], "tol": 2.976447129299231e-05}}, {"value": null}, {"value": [{"shape": [2, 1], "data": [0.18614792823791504, 0.8478214740753174], "tol": 0.00014802647001488367}, {"shape": [2, 1], "data": [-0.07381519675254822, -0.5141419172286987], "tol": 0.00012129585365983075}]}, {"value": {"shape": [2, 1], "data": [0.0, -0.07132502645254135], "tol": 0.00011442985817211593}}];
const SAMPLES = 0;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o10, o9, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o9 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 1});
  o10 = tf.layers.rnn({"stateful": true, "dtype": "float32", "batchInputShape": [2, 6, 4], "cell": o9});
  x = tf.tensor([-0.16542391, 0.8634604, -0.6451831, 2.158063, 0.2463482, 2.6201382, 0.42904615, -0.8283586, 0.58236015, -0.99407613, -1.9054694, 0.23486687, 0.75491637, 1.1565168, -0.5686078, -0.05946913, -0.20390682, 0.7431917, -1.5810608, -0.7905329, 0.9574247, -0.7166695, -1.6915176, 0.38662592, -0.1641134, -0.52114207, -1.5807227, -1.7628026, -2.658369, 1.685531, -1.1805214, 0.39184055, -0.7082551, 0.67142916, -0.44515964, 0.5642868, -1.7367872, 2.1015368, -0.87141263, 0.9720217, 0.92475325, -0.49587235, 2.4575806, -0.2692854, -1.6433365, -0.36017096, -0.7879633, 0.86303914], [2, 6, 4], 'float32');
  result = o10.apply(x, {mask: tf.tensor([false, false, false, false, false, false, true, false, true, false, true, true], [2, 6], 'bool')});
  o10.setWeights([tf.tensor([-0.7782417, -1.0267144, -0.06780905, 0.2101978, 0.053955328, 0.15753284, 0.22754224, 0.23700386, 0.9256876, 0.020414323, 0.01136674, -0.062537424, 0.66078734, -0.1460162, 0.317121, 0.3773021], [4, 4], 'float32'), tf.tensor([-0.46095458, -0.21793942, 1.301308, 1.3642199], [1, 4], 'float32'), tf.tensor([0.106094606, -0.44405743, -0.20511103, -0.07020353], [4], 'float32')]);
  o10.resetStates();
  result = null;
}

function steps() {
  const actual = [];
  // step 0
  try {
    x = tf.tensor([-0.16542391, 0.8634604, -0.6451831, 2.158063, 0.2463482, 2.6201382, 0.42904615, -0.8283586, 0.58236015, -0.99407613, -1.9054694, 0.23486687, 0.75491637, 1.1565168, -0.5686078, -0.05946913, -0.20390682, 0.7431917, -1.5810608, -0.7905329, 0.9574247, -0.7166695, -1.6915176, 0.38662592, -0.1641134, -0.52114207, -1.5807227, -1.7628026, -2.658369, 1.685531, -1.1805214, 0.39184055, -0.7082551, 0.67142916, -0.44515964, 0.5642868, -1.7367872, 2.1015368, -0.87141263, 0.9720217, 0.92475325, -0.49587235, 2.4575806, -0.2692854, -1.6433365, -0.36017096, -0.7879633, 0.86303914], [2, 6, 4], 'float32');
    result = o10.apply(x, {mask: tf.tensor([false, false, false, false, false, false, true, false, true, false, true, true], [2, 6], 'bool')});
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 1
  try {
    o10.resetStates([tf.tensor([0.18614793, 0.8478215], [2, 1], 'float32'), tf.tensor([-0.0738152, -0.5141419], [2, 1], 'float32')]);
    result = null;
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 2
  try {
    result = o10.states;
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 3
  try {
    x = tf.tensor([-1.4466649, -0.82177466, -0.356142, 0.3161641, 1.3047925, -0.85459924, 0.4044292, -0.21237408, -0.1594044, 0.2538621, -0.25151965, -1.4950376, -1.5931314, -1.0101725, 1.5384707, 1.28709, -0.62176526, 1.1784288, -1.0478947, -1.3482076, 1.7091799, 0.33580446, -3.4229302, -0.007361644, 0.5775673, -1.6251528, -0.0960423, 1.2091329, -0.23786025, 1.4016091, 0.19485843, 0.7265594, -0.27029613, -0.3885033, -1.2988644, -1.274108, -0.6456094, 1.0779049, -0.72562796, 1.2999996, 0.4495754, -0.021745794, -1.3317263e-03, -1.123148, -0.47178277, -0.038776413, -0.15050137, 0.30763653], [2, 6, 4], 'float32');
    result = o10.apply(x, {mask: tf.tensor([false, false, false, false, false, false, true, false, true, false, true, true], [2, 6], 'bool')});
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
