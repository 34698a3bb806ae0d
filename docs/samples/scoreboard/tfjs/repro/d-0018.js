#!/usr/bin/env node
/* rnnconf d-0018: value discrepancy between TensorFlow.js and Keras 2 (CALL-01, CALL-03, CELL-01, CELL-04, CELL-08, SHAPE-01, SHAPE-04).
 *
 * step 0 output: output[2, 1] minus the previous batch row (axis 0): oracle mean -0.3453 sd 0.03345, implementation mean -0.3162 sd 0.008475 (400 samples each); KS D=0.677, p<=1.2e-87 < 1.2e-08 (alpha 1e-06 over 80 tests; 34 flag)
 *
 * Run: npm install @tensorflow/tfjs@4.22.0 && node d-0018.js
 * Exit status: 1 while tfjs differs from Keras, 0 once it matches, 2 when tfjs cannot be loaded.
 * EXPECTED holds what Keras returns over the same number of samples: per element its mean and standard deviation (dropout while training draws random masks on both sides).
 * The case, as rnnconf describes it: {"layer": "RNN", "cells": [{"kind": "lstm", "units": 4, "use_bias": true, "recurrent_dropout": 0.5}], "cell_list": false, "flags": {}, "dtype": "float32", "batch": 3, "timesteps": 7, "features": [4], "mask": null, "initial_state": false, "initial_state_form": "tuple", "constants": null, "training": true, "embedding": null, "steps": [{"op": "call"}, {"op": "call"}], "reverse_inputs": false, "seed": 1436, "weights_seed": null, "weight_scale": 1.0, "perturbation": null, "warmup": null, "samples": null, "explicit_args": null, "gradients": false}
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

const EXPECTED = [{"mean": {"shape": [3, 4], "data": [0.039795255754524986, 0.32066800065338613, 0.24255793504416942, -0.024261561365856322, -0.04864182961318875, 0.30516015298664567, 0.10080057003542606, 0.33075034026056527, 0.4745630909502506, -0.04173403850327304, 0.09391111080534756, -0.47547616802155973], "sd": [0.034384179416073093, 0.021265368418021974, 0.023353471127596396, 0.009998843275624565, 0.02943791765120521, 0.024580899812337898, 0.11232740861940785, 0.04727925863570354, 0.03509235277452677, 0.023427519249421512, 0.019261974470707138, 0.02007970989748116]}}, {"mean": {"shape": [3, 4], "data": [-0.07694055637810379, 0.1540042111463845, 0.1621012719720602, -0.11897854661568999, 0.1099397982750088, 0.10885806700214744, 0.2532261342555284, -0.2354050724580884, -0.09903335054405034, 0.010006989962130319, 0.10188241616815503, 0.006484219822159503], "sd": [0.0560388373226054, 0.024266670317964235, 0.020470116526130146, 0.015938340887584845, 0.027043846099441188, 0.0196691001088518, 0.018577791162199774, 0.02957614257730018, 0.03449797636045584, 0.0320341685109921, 0.08772591089214199, 0.014219636080938068]}}];
const SAMPLES = 400;  // > 0: dropout while training, judged on SAMPLES runs of the steps

let o27, o28, x, mask, result;

function setup() {
  // Build the layer with its first call, then set the case's weights.
  o27 = tf.layers.lstmCell({"recurrentActivation": "sigmoid", "dtype": "float32", "recurrentDropout": 0.5, "units": 4});
  o28 = tf.layers.rnn({"dtype": "float32", "cell": o27});
  x = tf.tensor([-0.4493067, -0.8356404, 0.17505096, -0.63437843, -0.7225476, 0.23654391, -0.21859053, -1.1382344, -0.18574004, 0.102018684, 2.8391588, -0.24731544, 0.061306845, 0.71830404, -0.46130553, 0.71532476, -0.46277848, -0.46509764, -1.3380188, 0.36442775, -1.0402869, -2.1869667, -0.13183363, 0.57155514, -1.0434971, 1.8781136, 0.018396178, 1.1151364, -1.8134402, 0.4065709, 0.27316102, -0.6014432, 1.8268021, -0.13454609, 1.812333, -0.6753648, 0.61296105, -0.040164396, 0.1434706, 0.6727885, 0.80114996, -0.5463091, 0.40062442, 0.39258435, 0.7011748, 0.38195294, 0.06637175, 1.4282292, -0.69634324, -0.70187265, -0.34598106, 0.8440367, -0.5839408, 0.70600367, 1.0134368, 0.64012814, -2.1774755, 1.3962239, 0.9057161, 1.9365191, 0.46927318, 0.036528457, -0.7630302, -0.46245775, -1.7244828, -0.71751696, 1.5643467, -0.13016541, -0.32000977, -0.9353858, 1.6796492, -0.52011156, -0.73682916, 1.1391968, -0.1315335, 1.785567, -0.9079441, -2.0739098, -0.91472065, -0.37911016, -0.34928048, -0.5971543, -1.4651115, -1.2520349], [3, 7, 4], 'float32');
  result = o28.apply(x, {training: true});
}

function steps() {
  const actual = [];
  // step 0
  try {
    o28.setWeights([tf.tensor([0.19515236, -0.351762, 1.0499007, -0.12413988, -0.01083523, 0.16529837, -0.091083445, 1.0714884, -0.40126336, -0.72588927, -0.3489519, 0.8288703, -0.1516539, -0.48593065, -0.46919352, 0.58695877, -0.06296857, 0.35657963, -0.2672793, -0.7517615, 0.12756523, 0.25337985, -0.35541373, 0.11282919, -0.25018448, -0.12855473, 0.7893101, -0.53082734, 0.9682064, -0.3074474, 0.20827353, -0.23142749, 0.1278334, -0.038716737, -0.35175276, -0.3960844, -0.4255159, -0.11938255, 0.90947944, -0.11435506, -0.17889458, 0.13569371, -0.41287932, 0.8409248, -0.7659198, 0.2114199, 0.5534225, 0.2475925, -0.8613145, -0.46783912, 0.027837941, 0.6121587, -0.29063267, -0.07183418, 0.7474879, 0.7214611, -0.44324, 0.78134525, 0.08879211, 0.92744863, -0.2888394, 0.35568583, 0.5340122, -0.49146497], [4, 16], 'float32'), tf.tensor([0.74811023, -0.20840214, -0.44019595, 0.15778199, 0.40783772, -1.4365546, 0.5052908, -0.014976898, 0.07212156, -0.3825254, 0.6014137, 0.5412373, 0.5731922, -0.39482003, 0.87067217, 0.016479963, -0.597591, -0.25121132, 0.18238202, 0.15597557, 0.5799479, -0.6746262, -0.26600182, 0.19572073, 0.3641085, 0.0963446, 0.19797805, -0.08403541, -0.3736946, 0.04004127, 0.70763427, 0.1968875, 0.43613204, 0.22478104, -0.03832215, -0.64681375, -0.4292477, 0.46020094, 0.18258785, 0.6101507, 0.28193572, 1.070004, -1.3223207e-03, 0.06944171, 0.37535432, 0.37642744, 0.02087852, 0.15336345, -0.7678911, 0.5025455, -0.12208223, -0.023299927, -0.31200776, -0.6024395, -0.51702535, 0.38482392, -0.7494193, 0.31997526, -0.4572487, -0.2593471, 0.21971692, -0.30155328, 0.52875525, -0.45942435], [4, 16], 'float32'), tf.tensor([-0.053547986, 0.32123554, -0.54372233, 0.7040985, -0.70732623, -0.29848307, 0.4254484, 0.4547746, 0.07253219, 0.2501217, 0.5433515, -0.004780661, -0.15227637, -0.5100699, 0.4240668, 0.42058843], [16], 'float32')]);
    x = tf.tensor([-0.4493067, -0.8356404, 0.17505096, -0.63437843, -0.7225476, 0.23654391, -0.21859053, -1.1382344, -0.18574004, 0.102018684, 2.8391588, -0.24731544, 0.061306845, 0.71830404, -0.46130553, 0.71532476, -0.46277848, -0.46509764, -1.3380188, 0.36442775, -1.0402869, -2.1869667, -0.13183363, 0.57155514, -1.0434971, 1.8781136, 0.018396178, 1.1151364, -1.8134402, 0.4065709, 0.27316102, -0.6014432, 1.8268021, -0.13454609, 1.812333, -0.6753648, 0.61296105, -0.040164396, 0.1434706, 0.6727885, 0.80114996, -0.5463091, 0.40062442, 0.39258435, 0.7011748, 0.38195294, 0.06637175, 1.4282292, -0.69634324, -0.70187265, -0.34598106, 0.8440367, -0.5839408, 0.70600367, 1.0134368, 0.64012814, -2.1774755, 1.3962239, 0.9057161, 1.9365191, 0.46927318, 0.036528457, -0.7630302, -0.46245775, -1.7244828, -0.71751696, 1.5643467, -0.13016541, -0.32000977, -0.9353858, 1.6796492, -0.52011156, -0.73682916, 1.1391968, -0.1315335, 1.785567, -0.9079441, -2.0739098, -0.91472065, -0.37911016, -0.34928048, -0.5971543, -1.4651115, -1.2520349], [3, 7, 4], 'float32');
    result = o28.apply(x, {training: true});
    actual.push({value: result});
  } catch (e) {
    actual.push({error: e});
    return actual;
  }
  // step 1
  try {
    x = tf.tensor([1.1045426, -0.114690796, 1.6004885, 1.066022, -0.18014964, 1.2622869, 0.26765704, -1.0097413, -0.45981696, -0.43921295, 0.43976834, 0.35328984, 0.1970008, -0.5326403, -0.027707767, -1.0391821, -2.1418383, 1.203849, 1.3659532, 0.67781585, 0.49308604, -0.46482825, 1.9454951, 0.99539006, -0.42368177, 0.6990469, -1.1643564, 0.391591, -0.25673947, 0.45704132, 1.1884714, 0.5921847, 0.035821747, -0.96507174, 0.4499152, -0.05832418, -0.7919584, 0.5047649, 0.3064416, -0.6184737, 0.6967701, -0.8524313, 1.3741862, -0.55910295, -1.1568516, 0.4483185, -0.5445968, -0.8871504, 0.57932746, -0.35600927, -0.9499618, 0.45009014, -0.09344482, 0.23976107, -1.6049321, 0.5294917, 0.40410104, -0.03430063, -0.16480839, -0.30499756, 0.48527774, 0.13830923, 1.4080055, 0.031721137, 0.25743145, -1.017929, -1.0510932, 0.38414478, -1.1428764, -0.8458643, -0.43446076, 0.7942346, 0.54447794, -0.32423767, 0.120889306, -2.1631193, 1.9481897, -0.135724, 0.0050059063, -0.099789284, -0.44106367, 1.3155879, 1.1115345, -0.34598425], [3, 7, 4], 'float32');
    result = o28.apply(x, {training: true});
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
