"""Keras 2 recurrent layers (`tf.keras.layers` API) ported to PyTorch.

The cells keep their weights as torch parameters in torch's layout and gate order, and
`get_weights`/`set_weights` speak Keras' layout and order, so a trained Keras model's
`layer.get_weights()` loads as it is:

- kernels are transposed: Keras multiplies `x @ kernel` with kernel `(features, gates * units)`,
  torch `weight_ih @ x` with weight `(gates * units, features)`;
- GRU gates are reordered: Keras packs them z, r, h; torch r, z, n;
- LSTM gates keep their order (both pack i, f, c/g, o); Keras' one bias becomes torch's input bias,
  torch's recurrent bias is zero (and they are summed back on `get_weights`);
- a GRU with `reset_after=True` (Keras 2's default) is torch's GRU: its bias of shape `(2, 3 * units)`
  holds the input and the recurrent biases. `reset_after=False` (the reset gate applied before the
  recurrent matmul, one bias) has no torch counterpart and is computed here by hand.

A layer runs torch's full layer (`torch.nn.RNN`, `GRU`, `LSTM`) where it can express the call, and
otherwise steps the cell over time (`torch.nn.RNNCell`, `GRUCell`, `LSTMCell`): with a mask, with
stacked cells, and for GRU's `reset_after=False`.

Not ported, refused with an error that names the feature: activations other than torch's (tanh, or
relu for SimpleRNN; sigmoid for GRU/LSTM gates), regularizers and constraints, dropout when training,
`constants`, custom cells, inputs of more than three dimensions, and dtypes other than float32/float64.
"""
import operator

import numpy as np
import torch

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Keras' base-layer arguments this port accepts (the shape ones fix a stateful layer's batch size).
_BASE_LAYER_ARGS = ("name", "trainable", "input_shape", "batch_input_shape", "input_dim", "batch_size",
                    "implementation")


def _torch_dtype(dtype):
    if dtype is None:
        return torch.float32
    name = getattr(dtype, "name", None) or str(dtype)
    if name not in _DTYPES:
        raise ValueError(f"argument `dtype`={dtype!r} is not supported by torch_port (float32 or float64)")
    return _DTYPES[name]


def _check_base_kwargs(owner, kwargs):
    for key in kwargs:
        if key not in _BASE_LAYER_ARGS:
            raise TypeError(f"{owner}: keyword argument not understood: {key!r}")


def _refuse_unless_none(owner, **options):
    for key, value in options.items():
        if value is not None:
            raise ValueError(f"{owner}: argument `{key}`={value!r} is not supported by torch_port")


def _activation_name(value):
    return value if isinstance(value, str) or value is None else getattr(value, "__name__", repr(value))


def _initial_values(name, shape, dtype, what):
    """A Keras initializer by name, in Keras' layout."""
    tensor = torch.empty(shape, dtype=dtype)
    if name == "glorot_uniform":
        # Keras' fans for a (features, columns) kernel are (features, columns): torch reads (rows, cols) reversed.
        return torch.nn.init.xavier_uniform_(tensor.T).T.contiguous()
    if name == "orthogonal":
        return torch.nn.init.orthogonal_(tensor)
    if name == "zeros":
        return torch.nn.init.zeros_(tensor)
    if name == "ones":
        return torch.nn.init.ones_(tensor)
    raise ValueError(f"argument `{what}`={name!r} is not supported by torch_port "
                     "(glorot_uniform, orthogonal, zeros, ones)")


def _as_tensor(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    # torch refuses NumPy views with negative strides (x[:, ::-1]): copy those.
    return torch.as_tensor(np.ascontiguousarray(value), dtype=dtype)


def _flat(structure):
    """States given as one tensor, a list, or a list nested per stacked cell, as one flat list."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flat(item)]
    return [structure]


class _Cell:
    """What the three cells share: Keras' constructor arguments, weights in Keras' order, one step."""
    gates = 1
    torch_cell_class = None
    torch_layer_class = None

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                 kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, dtype=None, **kwargs):
        owner = type(self).__name__
        _check_base_kwargs(owner, kwargs)
        if units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units}.")
        _refuse_unless_none(owner, kernel_regularizer=kernel_regularizer,
                            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                            bias_constraint=bias_constraint)
        self.units = units  # checked for an integer at build, as Keras does
        self.activation = _activation_name(activation)
        self.use_bias = bool(use_bias)
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.dtype = _torch_dtype(dtype)
        self.name = kwargs.get("name") or owner.lower()
        self.built = False
        self.torch_cell = None
        self._torch_layer = None

    # Keras' structure
    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        if inputs is not None:
            batch_size = inputs.shape[0]
        if batch_size is None or (inputs is None and dtype is None):
            raise ValueError(f"batch_size and dtype cannot be None while constructing initial state. "
                             f"Received: batch_size={batch_size}, dtype={dtype}")
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        zeros = [torch.zeros(batch_size, size, dtype=self.dtype) for size in sizes]
        return zeros if len(zeros) > 1 else zeros[0]

    # weights
    def build(self, input_shape):
        try:
            self.units = operator.index(self.units)
        except TypeError:
            raise TypeError(f"Dimension value must be integer or None or have an __index__ method, got value "
                            f"'{self.units!r}' with type '{type(self.units)}'") from None
        features = int(input_shape[-1])
        self.torch_cell = self._make_torch_cell(features)
        self.features = features
        self.built = True
        kernel_init, recurrent_init, bias_init = self.initializers
        values = [_initial_values(kernel_init, (features, self.gates * self.units), self.dtype, "kernel_initializer"),
                  _initial_values(recurrent_init, (self.units, self.gates * self.units), self.dtype,
                                  "recurrent_initializer")]
        if self.use_bias:
            values.append(self._initial_bias(bias_init))
        self.set_weights(values)

    def _initial_bias(self, name):
        return _initial_values(name, self.keras_bias_shape(), self.dtype, "bias_initializer")

    def keras_bias_shape(self):
        return (self.gates * self.units,)

    def _make_torch_cell(self, features):
        return self.torch_cell_class(features, self.units, bias=self.use_bias, dtype=self.dtype)

    def _keras_to_torch_order(self):
        """Row indices: torch's gate rows taken from Keras' gate columns."""
        return torch.arange(self.gates * self.units)

    def keras_weight_shapes(self):
        shapes = [(self.features, self.gates * self.units), (self.units, self.gates * self.units)]
        return shapes + ([self.keras_bias_shape()] if self.use_bias else [])

    def get_weights(self):
        if not self.built:
            return []
        order = self._keras_to_torch_order()
        with torch.no_grad():
            cell = self.torch_cell
            kernel = torch.empty_like(cell.weight_ih.T)
            kernel[:, order] = cell.weight_ih.T
            recurrent = torch.empty_like(cell.weight_hh.T)
            recurrent[:, order] = cell.weight_hh.T
            weights = [kernel, recurrent]
            if self.use_bias:
                weights.append(self._keras_bias(order))
        return [w.detach().numpy().copy() for w in weights]

    def _keras_bias(self, order):
        bias = torch.empty_like(self.torch_cell.bias_ih)
        bias[order] = self.torch_cell.bias_ih + self.torch_cell.bias_hh
        return bias

    def set_weights(self, weights):
        if not self.built and not weights:
            return
        shapes = self.keras_weight_shapes()
        if len(weights) != len(shapes):
            raise ValueError(f"{self.name} expects {len(shapes)} weights, but received {len(weights)}")
        values = []
        for value, shape in zip(weights, shapes):
            value = _as_tensor(value, self.dtype)
            if tuple(value.shape) != tuple(shape):
                raise ValueError(f"{self.name}: weight shape {tuple(value.shape)} is not compatible with "
                                 f"the expected shape {tuple(shape)}")
            values.append(value)
        order = self._keras_to_torch_order()
        with torch.no_grad():
            self.torch_cell.weight_ih.copy_(values[0][:, order].T)
            self.torch_cell.weight_hh.copy_(values[1][:, order].T)
            if self.use_bias:
                self._set_bias(values[2], order)

    def _set_bias(self, bias, order):
        self.torch_cell.bias_ih.copy_(bias[order])
        self.torch_cell.bias_hh.zero_()

    @property
    def trainable_weights(self):
        return list(self.torch_cell.parameters()) if self.built else []

    weights = trainable_weights

    # one step
    def __call__(self, inputs, states, training=None):
        inputs = _as_tensor(inputs, self.dtype)
        if not self.built:
            self.build(inputs.shape)
        states = [_as_tensor(s, self.dtype) for s in (states if isinstance(states, (list, tuple)) else [states])]
        return self.call(inputs, states, training=training)

    def _refuse_training_dropout(self, training):
        if training and (self.dropout or self.recurrent_dropout):
            raise NotImplementedError("torch_port does not apply dropout or recurrent_dropout when training")

    def call(self, inputs, states, training=None):
        self._refuse_training_dropout(training)
        h = self.torch_cell(inputs, states[0])
        return h, [h]

    # the whole sequence through torch's full layer
    def can_run_full_layer(self):
        return self.torch_layer_class is not None

    def run_full_layer(self, inputs, states):
        """(outputs over time, last states) of `inputs` (batch, time, features) by torch's full layer."""
        if self._torch_layer is None:  # the layer's structure only: it runs on the cell's parameters
            self._torch_layer = self.torch_layer_class(self.features, self.units, bias=self.use_bias, batch_first=True,
                                                       dtype=self.dtype, device="meta", **self._full_layer_options())
        parameters = {"weight_ih_l0": self.torch_cell.weight_ih, "weight_hh_l0": self.torch_cell.weight_hh}
        if self.use_bias:
            parameters.update(bias_ih_l0=self.torch_cell.bias_ih, bias_hh_l0=self.torch_cell.bias_hh)
        hidden = tuple(s[None] for s in states)
        outputs, last = torch.func.functional_call(self._torch_layer, parameters,
                                                   (inputs, hidden if len(hidden) > 1 else hidden[0]))
        last = last if isinstance(last, tuple) else (last,)
        return outputs, [s[0] for s in last]

    def _full_layer_options(self):
        return {}


class SimpleRNNCell(_Cell):
    torch_cell_class = torch.nn.RNNCell
    torch_layer_class = torch.nn.RNN

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, **kwargs)
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNNCell: argument `activation`={self.activation!r} is not supported by "
                             "torch_port: torch's RNN computes tanh or relu")

    def _make_torch_cell(self, features):
        return torch.nn.RNNCell(features, self.units, bias=self.use_bias, nonlinearity=self.activation,
                                dtype=self.dtype)

    def _full_layer_options(self):
        return {"nonlinearity": self.activation}


class _GatedCell(_Cell):
    def __init__(self, units, activation, recurrent_activation, *args, **kwargs):
        super().__init__(units, activation, *args, **kwargs)
        self.recurrent_activation = _activation_name(recurrent_activation)
        owner = type(self).__name__
        if self.activation != "tanh":
            raise ValueError(f"{owner}: argument `activation`={self.activation!r} is not supported by "
                             "torch_port: torch computes tanh")
        if self.recurrent_activation != "sigmoid":
            raise ValueError(f"{owner}: argument `recurrent_activation`={self.recurrent_activation!r} is not "
                             "supported by torch_port: torch's gates are sigmoid")


class GRUCell(_GatedCell):
    gates = 3
    torch_cell_class = torch.nn.GRUCell
    torch_layer_class = torch.nn.GRU

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, **kwargs)
        self.reset_after = bool(reset_after)

    def keras_bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _keras_to_torch_order(self):
        u = self.units
        z, r, h = torch.arange(u), torch.arange(u, 2 * u), torch.arange(2 * u, 3 * u)
        return torch.cat([r, z, h])

    def _make_torch_cell(self, features):
        # reset_after=False uses the same parameters (its recurrent bias stays zero) in a step written by hand.
        return torch.nn.GRUCell(features, self.units, bias=self.use_bias, dtype=self.dtype)

    def _keras_bias(self, order):
        cell = self.torch_cell
        if not self.reset_after:
            return super()._keras_bias(order)
        bias = torch.empty(2, 3 * self.units, dtype=self.dtype)
        bias[0, order] = cell.bias_ih
        bias[1, order] = cell.bias_hh
        return bias

    def _set_bias(self, bias, order):
        if not self.reset_after:
            return super()._set_bias(bias, order)
        self.torch_cell.bias_ih.copy_(bias[0][order])
        self.torch_cell.bias_hh.copy_(bias[1][order])

    def can_run_full_layer(self):
        return self.reset_after

    def call(self, inputs, states, training=None):
        self._refuse_training_dropout(training)
        if self.reset_after:
            h = self.torch_cell(inputs, states[0])
            return h, [h]
        h = self._step_reset_before(inputs, states[0])
        return h, [h]

    def _step_reset_before(self, x, h_prev):
        """Keras' reset_after=False: h~ = tanh(x W_h + b_h + (r * h) U_h), which torch's GRU cannot compute."""
        cell, u = self.torch_cell, self.units
        gates_x = x @ cell.weight_ih.T  # rows r, z, n
        if self.use_bias:
            gates_x = gates_x + cell.bias_ih
        w_hr, w_hz, w_hn = cell.weight_hh[:u], cell.weight_hh[u:2 * u], cell.weight_hh[2 * u:]
        r = torch.sigmoid(gates_x[:, :u] + h_prev @ w_hr.T)
        z = torch.sigmoid(gates_x[:, u:2 * u] + h_prev @ w_hz.T)
        candidate = torch.tanh(gates_x[:, 2 * u:] + (r * h_prev) @ w_hn.T)
        return z * h_prev + (1 - z) * candidate


class LSTMCell(_GatedCell):
    gates = 4
    torch_cell_class = torch.nn.LSTMCell
    torch_layer_class = torch.nn.LSTM

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _initial_bias(self, name):
        bias = super()._initial_bias(name)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0
        return bias

    def call(self, inputs, states, training=None):
        self._refuse_training_dropout(training)
        h, c = self.torch_cell(inputs, (states[0], states[1]))
        return h, [h, c]


class _StackedCells:
    """A list of cells given to RNN: the output of one is the input of the next, stepped together."""

    def __init__(self, cells):
        self.cells = list(cells)
        self.dtype = self.cells[0].dtype
        self.built = False

    @property
    def state_size(self):
        return [size for cell in self.cells
                for size in (cell.state_size if isinstance(cell.state_size, list) else [cell.state_size])]

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def _counts(self):
        return [len(cell.state_size) if isinstance(cell.state_size, list) else 1 for cell in self.cells]

    def build(self, input_shape):
        features = input_shape[-1]
        for cell in self.cells:
            if not cell.built:
                cell.build((None, features))
            features = cell.output_size
        self.built = True

    def can_run_full_layer(self):
        return False

    def call(self, inputs, states, training=None):
        new_states, at = [], 0
        for cell, count in zip(self.cells, self._counts()):
            inputs, cell_states = cell.call(inputs, states[at:at + count], training=training)
            new_states += cell_states
            at += count
        return inputs, new_states

    def get_weights(self):
        return [w for cell in self.cells for w in cell.get_weights()]

    def set_weights(self, weights):
        counts = [len(cell.keras_weight_shapes()) for cell in self.cells]
        if len(weights) != sum(counts):
            raise ValueError(f"the stacked cells expect {sum(counts)} weights, but received {len(weights)}")
        at = 0
        for cell, count in zip(self.cells, counts):
            cell.set_weights(weights[at:at + count])
            at += count

    @property
    def trainable_weights(self):
        return [w for cell in self.cells for w in cell.trainable_weights]


def _refuse_foreign_cells(cells):
    for cell in cells:
        if not isinstance(cell, _Cell):
            raise NotImplementedError("torch_port's RNN runs torch_port's SimpleRNNCell, GRUCell and LSTMCell "
                                      f"only, not {type(cell).__name__}")


class RNN:
    """`tf.keras.layers.RNN` over this port's cells."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, dtype=None, **kwargs):
        _check_base_kwargs("RNN", kwargs)
        if isinstance(cell, (list, tuple)):
            for each in cell:
                if not hasattr(each, "call"):
                    raise ValueError(f"All cells must have a `call` method. Received cell without a `call` "
                                     f"method: {each}")
                if not hasattr(each, "state_size"):
                    raise ValueError(f"All cells must have a `state_size` attribute. Received cell without a "
                                     f"`state_size`: {each}")
            _refuse_foreign_cells(cell)
            cell = _StackedCells(cell)
        else:
            if not hasattr(cell, "call"):
                raise ValueError(f"Argument `cell` should have a `call` method. The RNN was passed: cell={cell}")
            if not hasattr(cell, "state_size"):
                raise ValueError("The RNN cell should have a `state_size` attribute (tuple of integers, one integer "
                                 f"per RNN state). Received: cell={cell}")
            _refuse_foreign_cells([cell])
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # the loop is the same either way
        self.time_major = bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.dtype = cell.dtype if dtype is None else _torch_dtype(dtype)
        self.name = kwargs.get("name") or type(self).__name__.lower()
        shape = kwargs.get("batch_input_shape")
        self._batch_size = shape[0] if shape is not None else kwargs.get("batch_size")
        self._states = None
        self._called = False

    # weights and states
    def get_weights(self):
        return self.cell.get_weights()

    def set_weights(self, weights):
        self.cell.set_weights(weights)

    @property
    def trainable_weights(self):
        return self.cell.trainable_weights

    weights = trainable_weights

    def _state_sizes(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    @property
    def states(self):
        if self._states is None:
            return self._nested([None] * len(self._state_sizes()))
        return self._nested(self._states)

    def reset_states(self, states=None):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self._batch_size is None or not self.cell.built:
            raise ValueError("If a RNN is stateful, it needs to know its batch size. Specify the batch size of "
                             "your input tensors: pass `batch_input_shape=(batch, timesteps, features)` to the layer.")
        sizes = self._state_sizes()
        if states is None:
            self._states = [torch.zeros(self._batch_size, size, dtype=self.dtype) for size in sizes]
            return
        states = _flat(states)
        if len(states) != len(sizes):
            raise ValueError(f"Layer {self.name} expects {len(sizes)} states, but it received {len(states)} "
                             "state values.")
        new = []
        for index, (value, size) in enumerate(zip(states, sizes)):
            value = _as_tensor(value, self.dtype)
            if tuple(value.shape) != (self._batch_size, size):
                raise ValueError(f"State {index} is incompatible with layer {self.name}: expected shape="
                                 f"{(self._batch_size, size)}, found shape={tuple(value.shape)}")
            new.append(value)
        self._states = new

    # the call
    def __call__(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if isinstance(inputs, (list, tuple)):
            raise NotImplementedError("torch_port takes initial states through `initial_state`, not in a list "
                                      "with the inputs")
        if constants is not None:
            self._refuse_constants(constants)
        x = _as_tensor(inputs, self.dtype)
        if x.ndim < 3:
            self._refuse_rank(x)
        if x.ndim > 3:
            raise NotImplementedError("torch_port takes inputs of shape (batch, timesteps, features) only")
        if self.time_major:
            x = x.transpose(0, 1)
        batch, steps = x.shape[0], x.shape[1]
        self._check_input_shape(x)
        if not self.cell.built:
            self.cell.build(x.shape)
        states = self._initial_states(x, batch, initial_state)
        if mask is not None:
            mask = _as_tensor(mask, torch.bool)
            if self.time_major:  # Keras takes the mask in the inputs' layout
                mask = mask.transpose(0, 1)
            if tuple(mask.shape) != (batch, steps):
                raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the inputs' (batch, "
                                 f"timesteps) = {(batch, steps)}")
        if mask is not None and bool(mask.all()):
            mask = None  # nothing masked: the same computation as no mask, on the same path
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        dropping = bool(training) and self._dropout()
        if mask is None and self.cell.can_run_full_layer() and not dropping:
            sequence, states = self.cell.run_full_layer(x, states)
            last = sequence[:, -1]
        else:
            sequence, last, states = self._step_over_time(x, mask, states, training)
        if self.stateful:
            self._states = [s.detach() for s in states]
            self._batch_size = batch
        self._called = True
        if self.return_sequences:
            output = sequence.transpose(0, 1) if self.time_major else sequence
        else:
            output = last
        return [output, *self._nested(states)] if self.return_state else output

    def _nested(self, flat_states):
        """Keras' nesting of a stack's states: one entry per cell, a list where the cell has several."""
        if not isinstance(self.cell, _StackedCells):
            return list(flat_states)
        nested, at = [], 0
        for count in self.cell._counts():
            part = list(flat_states[at:at + count])
            nested.append(part if count > 1 else part[0])
            at += count
        return nested

    def _refuse_constants(self, constants):
        raise ValueError(f"RNN cell {self.cell} does not support constants. Received: constants={constants}")

    def _dropout(self):
        cells = self.cell.cells if isinstance(self.cell, _StackedCells) else [self.cell]
        return any(c.dropout or c.recurrent_dropout for c in cells)

    def _refuse_rank(self, x):
        # RNN(cell) finds it in its time loop, which sees the inputs time-major
        shape = tuple(x.shape) if self.time_major or x.ndim < 2 else (x.shape[1], x.shape[0], *x.shape[2:])
        raise ValueError(f"Shape {shape} must have rank at least 3")

    def _check_input_shape(self, x):
        """Keras' input spec: the features a built layer was built for, a stateful layer's batch size."""
        features = self.cell.cells[0].features if isinstance(self.cell, _StackedCells) and self.cell.built else (
            getattr(self.cell, "features", None) if self.cell.built else None)
        batch = self._batch_size if self.stateful else None
        shape = tuple(x.transpose(0, 1).shape if self.time_major else x.shape)
        if (features is not None and shape[-1] != features) or (batch is not None and shape[0] != batch):
            expected = (batch, None, features if features is not None else shape[-1])
            if self.time_major:
                expected = (None, batch, expected[2])
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                             f"shape={expected}, found shape={shape}")

    def _refuse_state_count(self, initial_state):
        """Keras' two messages: the first call checks the states against `cell.state_size`, a built layer
        counts them (one per cell of a stack) against what it was given."""
        given = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        if not self._called:
            size = self.cell.state_size
            raise ValueError("An `initial_state` was passed that is not compatible with `cell.state_size`. "
                             f"Received `state_spec`={list(given)}; however `cell.state_size` is {size}")
        expected = len(self._nested(self._state_sizes()))
        if len(given) == expected:  # one entry per cell, but a cell's entry lacks some of its states
            raise ValueError(f"Could not pack sequence. Structure had {len(self._state_sizes())} atoms, but "
                             f"flat_sequence had {len(_flat(initial_state))} items.")
        raise ValueError(f"Layer has {expected} states but was passed {len(given)} initial states. "
                         f"Received: initial_state={initial_state}")

    def _initial_states(self, x, batch, initial_state):
        sizes = self._state_sizes()
        if initial_state is not None:
            given = _flat(initial_state)
            if len(given) != len(sizes):
                self._refuse_state_count(initial_state)
            states = [_as_tensor(s, self.dtype) for s in given]
            for s, size in zip(states, sizes):
                if tuple(s.shape) != (batch, size):
                    raise ValueError(f"initial state of shape {tuple(s.shape)} does not match {(batch, size)}")
            return states
        if self.stateful:
            if self._batch_size is None:
                self._batch_size = batch
            if self._states is None:
                self.reset_states()
            if self._states[0].shape[0] != batch:
                raise ValueError(f"{self.name} is stateful with batch size {self._states[0].shape[0]}, "
                                 f"called on a batch of {batch}")
            return list(self._states)
        return [torch.zeros(batch, size, dtype=self.dtype) for size in sizes]

    def _step_over_time(self, x, mask, states, training):
        """Keras' masked loop: a masked timestep keeps the states and repeats the last output (or outputs
        zeros with zero_output_for_mask)."""
        outputs = []
        last = torch.zeros(x.shape[0], self.cell.output_size, dtype=self.dtype)
        for t in range(x.shape[1]):
            output, new_states = self.cell.call(x[:, t], states, training=training)
            if mask is None:
                states, last = new_states, output
                outputs.append(output)
                continue
            keep = mask[:, t, None]
            states = [torch.where(keep, new, old) for new, old in zip(new_states, states)]
            last = torch.where(keep, output, last)
            outputs.append(torch.where(keep, output, torch.zeros_like(output)) if self.zero_output_for_mask
                           else last)
        # The last output is the sequence's last entry: zeros for a row whose last step is masked, with
        # zero_output_for_mask.
        return torch.stack(outputs, dim=1), outputs[-1], states


class _PresetRNN(RNN):
    """SimpleRNN, GRU, LSTM: the RNN of one cell, built from the cell's and the layer's arguments."""
    cell_class = None
    _LAYER_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major",
                   "zero_output_for_mask", "name", "trainable", "input_shape", "batch_input_shape", "input_dim",
                   "batch_size")

    def __init__(self, units, activity_regularizer=None, **kwargs):
        _refuse_unless_none(type(self).__name__, activity_regularizer=activity_regularizer)
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._LAYER_ARGS}
        cell = self.cell_class(units, dtype=kwargs.get("dtype"), **{k: v for k, v in kwargs.items() if k != "dtype"})
        super().__init__(cell, dtype=kwargs.get("dtype"), **layer_kwargs)

    def _refuse_constants(self, constants):
        raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument 'constants'")

    def _refuse_rank(self, x):  # the built-in layers check their input spec first
        raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=3, '
                         f"found ndim={x.ndim}. Full shape received: {tuple(x.shape)}")

    def __getattr__(self, name):  # units, activation, reset_after, ... as Keras' layers expose them
        if name == "cell":
            raise AttributeError(name)
        return getattr(self.cell, name)


class SimpleRNN(_PresetRNN):
    cell_class = SimpleRNNCell


class GRU(_PresetRNN):
    cell_class = GRUCell


class LSTM(_PresetRNN):
    cell_class = LSTMCell
