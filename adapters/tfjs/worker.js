// rnnconf's tfjs worker: builds and calls TensorFlow.js layers for rnnconf's Python side
// (adapters/tfjs/__init__.py), one JSON object a line on stdin, one answer a line on stdout.
//
// A request is {"ops": [op, ...]}: the ops run in order and the answer is {"results": [...]}, one
// entry per op that ran, ending at the first op that throws ({"error": {"type", "message"}}). So a
// Python call that was preceded by deferred work (weights to set, layers to free) is one round trip.
// Arrays travel as {"dtype", "shape", "b64"}: the little-endian bytes of a float32, int32 or bool
// array, so every float32 value arrives bit for bit.
'use strict';

// tfjs prints a banner on stdout when it starts in Node: the protocol owns stdout, so any printing
// goes to stderr.
const out = process.stdout;
// tfjs' warnings (its banner, "Ignoring unroll = true") would repeat at every call: dropped.
console.log = console.info = (...args) => process.stderr.write(args.join(' ') + '\n');
console.warn = () => {};

const tf = require('@tensorflow/tfjs');
tf.setBackend('cpu');

const objects = new Map();  // id -> a tfjs cell or layer

const CONSTRUCTORS = {
  SimpleRNNCell: (a) => tf.layers.simpleRNNCell(a),
  GRUCell: (a) => tf.layers.gruCell(a),
  LSTMCell: (a) => tf.layers.lstmCell(a),
  StackedRNNCells: (a) => tf.layers.stackedRNNCells(a),
  RNN: (a) => tf.layers.rnn(a),
  SimpleRNN: (a) => tf.layers.simpleRNN(a),
  GRU: (a) => tf.layers.gru(a),
  LSTM: (a) => tf.layers.lstm(a),
  Embedding: (a) => tf.layers.embedding(a),
};

const TYPED = {float32: Float32Array, int32: Int32Array, bool: Uint8Array};

function decode(a) {
  if (a === null || a === undefined) return a;
  if (Array.isArray(a)) return a.map(decode);
  const bytes = Buffer.from(a.b64, 'base64');
  const Typed = TYPED[a.dtype];
  const copy = new Uint8Array(bytes.length);  // aligned: a Buffer may start anywhere in its pool
  copy.set(bytes);
  return tf.tensor(new Typed(copy.buffer), a.shape, a.dtype);
}

function encode(t) {
  if (t === null || t === undefined) return null;
  if (Array.isArray(t)) return t.map(encode);
  const data = t.dataSync();
  const bytes = t.dtype === 'bool' ? Uint8Array.from(data) : data;
  return {dtype: t.dtype, shape: t.shape,
          b64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')};
}

function get(id) {
  const object = objects.get(id);
  if (object === undefined) throw new Error(`rnnconf: no tfjs object ${id}`);
  return object;
}

function resolveArgs(args) {
  // Cells arrive as {"$object": id}: the cell argument of rnn, the cells of stackedRNNCells.
  const resolve = (v) => (v && typeof v === 'object' && '$object' in v) ? get(v.$object)
    : Array.isArray(v) ? v.map(resolve) : v;
  const resolved = {};
  for (const [k, v] of Object.entries(args)) resolved[k] = resolve(v);
  return resolved;
}

const OPS = {
  new({id, cls, args}) {
    objects.set(id, CONSTRUCTORS[cls](resolveArgs(args)));
    return null;
  },
  call({id, inputs, kwargs, embedding}) {
    const layer = get(id);
    return tf.tidy(() => {
      let x = decode(inputs);
      const options = {};
      if (kwargs.mask !== undefined) options.mask = decode(kwargs.mask);
      if (kwargs.training !== undefined) options.training = kwargs.training;
      if (kwargs.initialState !== undefined) options.initialState = decode(kwargs.initialState);
      if (kwargs.constants !== undefined) options.constants = decode(kwargs.constants);
      if (embedding !== undefined) {
        // What a tfjs model does between two layers: the upstream layer's computeMask is the mask.
        const upstream = get(embedding);
        const tokens = x;
        x = upstream.apply(tokens);
        const mask = upstream.computeMask(tokens);
        if (mask) options.mask = mask;
      }
      return encode(layer.apply(x, options));
    });
  },
  getWeights({id}) {
    return get(id).getWeights().map(encode);
  },
  setWeights({id, weights}) {
    const tensors = decode(weights);
    try {
      get(id).setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
    return null;
  },
  resetStates({id, states}) {
    const layer = get(id);
    if (states === undefined) {
      layer.resetStates();
      return null;
    }
    const tensors = decode(states);
    try {
      layer.resetStates(tensors);
    } finally {
      tf.dispose(tensors);
    }
    return null;
  },
  states({id}) {
    const states = get(id).states;
    return states.map((s) => (s === null ? null : encode(s)));
  },
  dispose({ids}) {
    for (const id of ids) {
      const object = objects.get(id);
      objects.delete(id);
      try {
        if (object && typeof object.dispose === 'function' && object.built) object.dispose();
      } catch (e) { /* a cell already disposed with its layer */ }
    }
    return null;
  },
  clear() {
    objects.clear();
    tf.disposeVariables();
    return null;
  },
  versions() {
    return tf.version;
  },
};

function errorOf(e) {
  const type = (e && e.constructor && e.constructor.name) || (e && e.name) || 'Error';
  return {type, message: String((e && e.message) || e)};
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (!line.trim()) continue;
    const results = [];
    for (const op of JSON.parse(line).ops) {
      try {
        results.push({value: OPS[op.op](op)});
      } catch (e) {
        results.push({error: errorOf(e)});
        break;
      }
    }
    out.write(JSON.stringify({results}) + '\n');
  }
});
process.stdin.on('end', () => process.exit(0));
