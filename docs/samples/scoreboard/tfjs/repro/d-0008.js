#!/usr/bin/env node
/* rnnconf d-0008: error discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-02, CALL-03, CELL-01, CELL-03, CELL-04, CELL-08, CELL-10, FLAG-04, INIT-02, MASK-01, SHAPE-01, SHAPE-04, STATE-01, STATE-02, STATE-03, STATE-04).
 *
 * step 2: the implementation raises ValueError: State 0 is incompatible with layer rnn_RNN5: expected shape=3,2, received shape=3,3; the oracle does not
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0008.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"cells": [{"kind": "simple", "units": 3, "use_bias": true, "dropout": 0.5, "recurrent_dropout": 0.0}, {"kind": "lstm", "units": 2, "unit_forget_bias": false, "dropout": 0.5}], "seed": 25721, "cell_list": true, "features": [4], "batch": 3, "timesteps": 4, "dtype": "float32", "flags": {"stateful": true, "time_major": false, "zero_output_for_mask": false}, "mask": [[0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0]], "training": true, "weight_scale": 0.7, "steps": [{"op": "call"}, {"op": "states"}, {"op": "reset", "states": "random"}, {"op": "reset", "states": "random"}]}
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

const EXPECTED = [{"mean": {"shape": [3, 2], "data": [0.0, 0.0, -0.048646508785459446, -0.030398073240430677, 0.0153642140039301, -0.007851778949261643], "sd": [0.0, 0.0, 0.07058113074820895, 0.03387005033839452, 0.04938938750689941, 0.05282045397536035]}}, {"mean": [{"shape": [3, 3], "data": [0.0, 0.0, 0.0, -0.25572339055128396, 0.868843085244298, -0.6631884087249637, 0.24586916361004113, 0.17895116440951825, -0.012851911885663867], "sd": [0.0, 0.0, 0.0, 0.5505960502602242, 0.2055672776945409, 0.2652016803828346, 0.402278921445933, 0.6955155693099341, 0.18792307886539542]}, [{"shape": [3, 2], "data": [0.0, 0.0, -0.048646508785459446, -0.030398073240430677, 0.0153642140039301, -0.007851778949261643], "sd": [0.0, 0.0, 0.07058113074820895, 0.03387005033839452, 0.04938938750689941, 0.05282045397536035]}, {"shape": [3, 2], "data": [0.0, 0.0, -0.11119003002531827, -0.07648000435903668, 0.0386810391349718, -0.021723684566095473], "sd": [0.0, 0.0, 0.16005654344467948, 0.08503390374246522, 0.10961456860257861, 0.12225389302022653]}]]}, {"mean": null}, {"mean": null}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o18, o19, o20, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o18 = tf.layers.simpleRNNCell({"dtype": "float32", "dropout": 0.5, "units": 3});
  o19 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "unitForgetBias": false, "dropout": 0.5, "units": 2});
  o20 = tf.layers.rnn({"stateful": true, "dtype": "float32", "batchInputShape": [3, 4, 4], "cell": [o18, o19]});
  x = tf.tensor([-0.6060414, 0.25887895, -0.76265365, -1.4160987, 0.15677087, -0.6685647, -1.3948919, 1.4967144, -0.54854876, 0.34050182, -0.5816871, 0.08806472, -2.5842643, 0.8172828, -0.084941305, 0.62738776, -1.7189529, -0.5178421, -0.27219608, -0.037488267, -0.031057, -5.041967e-04, -1.6153575, 1.399933, -0.4457767, 0.27417997, 0.06080699, 0.5153666, 1.1285294, 0.31968403, -0.49373087, 0.097407594, -0.7271493, 0.58860236, 0.4102239, 0.9795677, -1.4271133, 1.9009956, 1.2275114, -0.37240806, 1.0415747, 0.5117691, 0.96074194, -0.43137583, -0.014474063, -0.09056074, -0.53191525, -1.2569542], [3, 4, 4], 'float32');
  result = o20.apply(x, {mask: tf.tensor([false, false, false, false, true, true, false, false, false, true, true, false], [3, 4], 'bool'), training: true});
  o20.setWeights([tf.tensor([-0.21172404, 0.13433315, 0.20780024, 0.030024976, 0.29585087, -0.11375316, 0.41565183, -0.42734358, 0.11443465, 0.19491652, 0.25741944, -0.32965922], [4, 3], 'float32'), tf.tensor([0.5785088, -0.7023875, -0.3734408, 0.7908473, 0.78309804, 0.2192236, 0.009014942, -0.09195432, 0.19577296], [3, 3], 'float32'), tf.tensor([-0.19868407, 0.62373763, -0.25297198], [3], 'float32'), tf.tensor([0.91745883, 0.061243888, -0.21789694, -0.33549026, 0.07966016, 0.3737639, 0.02958068, -0.006450022, -0.21266085, -0.49993697, 0.48378548, 0.423815, -0.07485057, -0.32127634, 0.1606043, -0.07863736, -0.24663226, -0.24468277, -0.24274474, 0.65692466, 0.20971115, -0.31603792, 0.08143076, 0.11011715], [3, 8], 'float32'), tf.tensor([-0.85911083, -0.009497764, 9.3114853e-04, 0.580771, 0.6821916, 1.3593323, 0.7015026, -0.34177035, -0.88703614, -0.33428702, 0.6720508, -0.20640248, -0.38000804, 0.36777675, -0.4843509, 0.40778857], [2, 8], 'float32'), tf.tensor([0.48705322, -1.1111823, -0.7826135, -0.482628, 0.058331378, -0.29302597, -0.20087111, -0.27997798], [8], 'float32')]);
  o20.resetStates();
  result = null;
}

function steps() {
  const actual = [];
  // step 0
  try {
    x = tf.tensor([-0.6060414, 0.25887895, -0.76265365, -1.4160987, 0.15677087, -0.6685647, -1.3948919, 1.4967144, -0.54854876, 0.34050182, -0.5816871, 0.08806472, -2.5842643, 0.8172828, -0.084941305, 0.62738776, -1.7189529, -0.5178421, -0.27219608, -0.037488267, -0.031057, -5.041967e-04, -1.6153575, 1.399933, -0.4457767, 0.27417997, 0.06080699, 0.5153666, 1.1285294, 0.31968403, -0.49373087, 0.097407594, -0.7271493, 0.58860236, 0.4102239, 0.9795677, -1.4271133, 1.9009956, 1.2275114, -0.37240806, 1.0415747, 0.5117691, 0.96074194, -0.43137583, -0.014474063, -0.09056074, -0.53191525, -1.2569542], [3, 4, 4], 'float32');
    result = o20.apply(x, {mask: tf.tensor([false, false, false, false, true, true, false, false, false, true, true, false], [3, 4], 'bool'), training: true});
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 1
  try {
    result = o20.states;
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 2
  try {
    o20.resetStates([tf.tensor([-0.05952519, -0.48480055, 0.034085546, 0.22686532, -0.49991044, -0.32017642, 0.20349355, 1.3327948, -0.43855816], [3, 3], 'float32'), tf.tensor([-0.39347017, 0.031166203, 0.27639666, 0.52680725, -0.29440075, -0.38267726], [3, 2], 'float32'), tf.tensor([-0.75178105, 0.6944776, 0.4367714, 1.1529002, -0.5122433, -0.1577267], [3, 2], 'float32')]);
    result = null;
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
    o20.resetStates();
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
