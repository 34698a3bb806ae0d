"""The ported cells and their stack: weights in torch's layout, spoken in Keras' (see layers.py)."""
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
