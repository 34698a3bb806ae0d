#!/usr/bin/env node
/* rnnconf d-0007: error discrepancy between TensorFlow.js and Keras 2 (CALL-01, CELL-01, CELL-04, CELL-08, CELL-10, FLAG-04, INIT-02, SHAPE-01, SHAPE-04, STATE-01, STATE-02, STATE-03, STATE-04).
 *
 * step 2: the implementation raises ValueError: State 0 is incompatible with layer rnn_RNN19: expected shape=3,2, received shape=3,3; the oracle does not
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0007.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns for the same layer, weights and data (per step: the values with the float32 rounding bound they are compared within, or the error class it raises).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 3}, {"kind": "lstm", "units": 2}], "cell_list": true, "flags": {"stateful": true, "time_major": false, "zero_output_for_mask": false}, "dtype": "float32", "batch": 3, "timesteps": 4, "features": [4], "mask": null, "initial_state": false, "initial_state_form": null, "constants": null, "training": null, "embedding": null, "steps": [{"op": "call"}, {"op": "states"}, {"op": "reset", "states": "random"}, {"op": "reset", "states": "random"}], "reverse_inputs": false, "seed": 25721, "weights_seed": null, "weight_scale": 0.7, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"value": {"shape": [3, 2], "data": [-0.04648531228303909, -0.19673524796962738, -0.057137370109558105, -0.18496078252792358, -0.05609428882598877, -0.18304599821567535], "tol": 4.565182678106794e-05}}, {"value": [[{"shape": [3, 3], "data": [-0.3543632924556732, 0.12730051577091217, 0.24132153391838074, -0.16033878922462463, 0.19890433549880981, 0.14663493633270264, -0.18975065648555756, 0.09722905606031418, 0.1379678100347519], "tol": 0.00010332971896787058}, {"shape": [3, 3], "data": [-0.7328544855117798, 0.32924020290374756, 0.3867366313934326, -0.20311646163463593, 0.4045388996601105, 0.47000426054000854, -0.22971293330192566, 0.25886744260787964, 0.35470741987228394], "tol": 0.00013220630535215605}], [{"shape": [3, 2], "data": [-0.04648531228303909, -0.19673524796962738, -0.057137370109558105, -0.18496078252792358, -0.05609428882598877, -0.18304599821567535], "tol": 9.130365356213588e-05}, {"shape": [3, 2], "data": [-0.18720218539237976, -0.4981566071510315, -0.20630145072937012, -0.47505390644073486, -0.20195071399211884, -0.4746893644332886], "tol": 0.00011430027825554134}]]}, {"value": null}, {"value": null}];
const SAMPLES = 0;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o12, o13, o14, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o12 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 3});
  o13 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "units": 2});
  o14 = tf.layers.rnn({"stateful": true, "dtype": "float32", "batchInputShape": [3, 4, 4], "cell": [o12, o13]});
  x = tf.tensor([-0.6060414, 0.25887895, -0.76265365, -1.4160987, 0.15677087, -0.6685647, -1.3948919, 1.4967144, -0.54854876, 0.34050182, -0.5816871, 0.08806472, -2.5842643, 0.8172828, -0.084941305, 0.62738776, -1.7189529, -0.5178421, -0.27219608, -0.037488267, -0.031057, -5.041967e-04, -1.6153575, 1.399933, -0.4457767, 0.27417997, 0.06080699, 0.5153666, 1.1285294, 0.31968403, -0.49373087, 0.097407594, -0.7271493, 0.58860236, 0.4102239, 0.9795677, -1.4271133, 1.9009956, 1.2275114, -0.37240806, 1.0415747, 0.5117691, 0.96074194, -0.43137583, -0.014474063, -0.09056074, -0.53191525, -1.2569542], [3, 4, 4], 'float32');
  result = o14.apply(x);
  o14.setWeights([tf.tensor([-0.21172404, 0.13433315, 0.20780024, 0.030024976, 0.29585087, -0.11375316, 0.41565183, -0.42734358, 0.11443465, 0.19491652, 0.25741944, -0.32965922, 0.50100327, -0.6082854, -0.3234092, 0.68489385, 0.6781828, 0.18985322, 0.007807168, -0.07963478, 0.16954437, -0.13907884, 0.43661633, -0.1770804, 0.7945426, 0.053038765, -0.18870428, -0.29054308, 0.06898772, 0.323689, 0.025617622, -0.005585883, -0.1841697, -0.43295813, 0.41897053, 0.36703455, -0.064822495, -0.27823347, 0.1390874, -0.06810196, -0.2135898, -0.2119015, -0.21022312, 0.56891346, 0.18161519, -0.27369687, 0.07052111, 0.09536425], [4, 12], 'float32'), tf.tensor([-0.7014611, -7.7548916e-03, 0.0007602796, 0.47419757, 0.55700713, 1.1098902, 0.5727745, -0.2790543, -0.72426194, -0.2729442, 0.54872715, -0.16852692, -0.31027526, 0.30028847, -0.39547083, 0.33295798, 0.39368042, -0.898158, -0.63257897, -0.39010355, 0.04714869, -0.23685008, -0.16236219, -0.2263035, 0.09552, -0.49485108, -0.13695645, -0.28595132, -0.15712178, -0.047961563, 0.41524768, -0.1041942, 0.04369852, -0.740136, -0.30394727, 0.05142517], [3, 12], 'float32'), tf.tensor([-0.29985154, -0.37883747, -0.83785635, -0.4106021, -0.32559478, 0.46081367, -0.27076954, 0.99403876, 0.82560754, 1.1546936, 0.087454416, -0.096860655], [12], 'float32'), tf.tensor([0.19066781, -0.20129101, -0.35671908, 0.54668784, -0.4516858, -0.008271743, 0.4739236, -0.5005123, -0.038890246, 0.15983932, -0.34382638, -0.38462046, -0.035823353, 0.27466938, -0.08510158, 0.32777527, -0.019847328, 0.15163434, -0.7973945, 0.87024677, -0.02926708, -0.19989239, -0.7200898, -0.38969803], [3, 8], 'float32'), tf.tensor([0.14373957, -0.036534235, 0.2811266, -0.42337653, -0.39247695, 0.2367203, -0.14615987, -0.03975822, -0.65612113, 0.1743775, 0.74076504, 0.6176669, -0.035804227, 0.4623277, 0.42899773, -0.3128262], [2, 8], 'float32'), tf.tensor([-0.8026619, -0.15148462, -0.006016253, 0.5373448, -0.49971083, -0.43814063, -0.6763263, -0.4731285], [8], 'float32')]);
  o14.resetStates();
  result = null;
}

function steps() {
  const actual = [];
  // step 0
  try {
    x = tf.tensor([-0.6060414, 0.25887895, -0.76265365, -1.4160987, 0.15677087, -0.6685647, -1.3948919, 1.4967144, -0.54854876, 0.34050182, -0.5816871, 0.08806472, -2.5842643, 0.8172828, -0.084941305, 0.62738776, -1.7189529, -0.5178421, -0.27219608, -0.037488267, -0.031057, -5.041967e-04, -1.6153575, 1.399933, -0.4457767, 0.27417997, 0.06080699, 0.5153666, 1.1285294, 0.31968403, -0.49373087, 0.097407594, -0.7271493, 0.58860236, 0.4102239, 0.9795677, -1.4271133, 1.9009956, 1.2275114, -0.37240806, 1.0415747, 0.5117691, 0.96074194, -0.43137583, -0.014474063, -0.09056074, -0.53191525, -1.2569542], [3, 4, 4], 'float32');
    result = o14.apply(x);
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 1
  try {
    result = o14.states;
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 2
  try {
    o14.resetStates([tf.tensor([-0.05952519, -0.48480055, 0.034085546, 0.22686532, -0.49991044, -0.32017642, 0.20349355, 1.3327948, -0.43855816], [3, 3], 'float32'), tf.tensor([-0.39347017, 0.031166203, 0.27639666, 0.52680725, -0.29440075, -0.38267726, -0.75178105, 0.6944776, 0.4367714], [3, 3], 'float32'), tf.tensor([1.1529002, -0.5122433, -0.1577267, 0.10773148, -0.076309726, -1.4095185], [3, 2], 'float32'), tf.tensor([0.62297267, -0.39244494, 0.72027916, 0.2249098, -0.4266957, -0.5070638], [3, 2], 'float32')]);
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
