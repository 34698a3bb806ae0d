"""The built-in cells: SimpleRNNCell, GRUCell, LSTMCell, and StackedRNNCells.

Weights, gate order and formulas follow tf_keras so that `set_weights(oracle.get_weights())` makes
both compute the same function.
"""
import numpy as np

from . import activations, initializers
from .layer import Layer, has_arg
from .nest import dims_of, flatten, is_multiple_state, is_nested, pack_sequence_as
from .checked_ops import add, matmul


def _check_units(units):
    if units <= 0:  # None or a string raise TypeError here, as in the oracle (ERR-35)
        raise ValueError(
            f"Received an invalid value for argument `units`, expected a positive integer, got {units}.")


def zero_state(batch_size, state_size, dtype):
    """Zero-filled state(s) shaped [batch_size, *state_size] (CELL-09)."""
    if batch_size is None or dtype is None:
        raise ValueError(
            "batch_size and dtype cannot be None while constructing initial state. "
            f"Received: batch_size={batch_size}, dtype={dtype}")
    dtype = np.dtype(getattr(dtype, "name", dtype))

    def zeros(size):
        return np.zeros([int(batch_size)] + dims_of(size), dtype)

    if is_nested(state_size):
        return [zeros(s) if not is_nested(s) else zero_state(batch_size, s, dtype) for s in state_size]
    return zeros(state_size)


def zero_state_for_cell(cell, inputs, batch_size, dtype):
    if inputs is not None:
        batch_size, dtype = np.shape(inputs)[0], np.asarray(inputs).dtype
    return zero_state(batch_size, cell.state_size, dtype)


def _state_operand(state, packed):
    """A cell's previous state as the oracle's ops take it. A list or tuple where one tensor belongs
    (an initial_state nested a level too deep, `[[s]]`) is turned into one tensor by arithmetic
    (`[s] * mask` has shape (1, batch, units)), but `backend.dot` reads `.shape` first and fails.
    `packed`: the cell multiplies the state by its recurrent dropout mask (ones when not training)
    before any matmul, so the oracle goes on with the (1, batch, units) tensor."""
    if not isinstance(state, (list, tuple)):
        return state
    if packed:
        return np.asarray(state)
    raise AttributeError(f"'{type(state).__name__}' object has no attribute 'shape'")


class DropoutRNNCellMixin:
    """Dropout masks drawn once per RNN call and reused at every timestep, as in tf_keras."""

    def _init_dropout(self, dropout, recurrent_dropout, seed=None):
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self._dropout_rng = np.random.default_rng(seed if seed is not None else initializers.draw_seed())
        self.reset_dropout_mask()
        self.reset_recurrent_dropout_mask()

    def reset_dropout_mask(self):
        self._dropout_masks = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_masks = None

    def _draw(self, like, rate, count):
        keep = 1.0 - rate
        masks = [(self._dropout_rng.random(like.shape) < keep).astype(like.dtype) / like.dtype.type(keep)
                 for _ in range(count)]
        return masks if count > 1 else masks[0]

    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        """None when dropout is off or not training: the caller then uses its inputs as they are."""
        if self.dropout == 0 or not training:
            return None
        if self._dropout_masks is None:
            self._dropout_masks = self._draw(inputs, self.dropout, count)
        return self._dropout_masks

    def get_recurrent_dropout_mask_for_cell(self, inputs, training, count=1):
        if self.recurrent_dropout == 0 or not training:
            return None
        if self._recurrent_dropout_masks is None:
            self._recurrent_dropout_masks = self._draw(inputs, self.recurrent_dropout, count)
        return self._recurrent_dropout_masks


class _GatedCell(DropoutRNNCellMixin, Layer):
    """What the three built-in cells share: units, activations, initializers, dropout."""

    n_gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, **kwargs):
        _check_units(units)
        kwargs.pop("enable_caching_device", None)
        seed = kwargs.pop("seed", None)
        implementation = kwargs.get("implementation", 2)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._init_dropout(dropout, recurrent_dropout, seed)
        # As tf_keras: recurrent dropout forces the per-gate implementation.
        self.implementation = 1 if self.recurrent_dropout != 0 and implementation != 1 else implementation

    def build(self, input_shape):
        input_dim = input_shape[-1]  # add_weight checks it like tf.TensorShape (ERR-32, ERR-36)
        self.kernel = self.add_weight("kernel", (input_dim, self.units * self.n_gates),
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units * self.n_gates),
                                                initializer=self.recurrent_initializer)
        self.bias = self._build_bias() if self.use_bias else None
        self.built = True

    def _build_bias(self):
        return self.add_weight("bias", (self.units * self.n_gates,), initializer=self.bias_initializer)

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        return zero_state_for_cell(self, inputs, batch_size, dtype)


class SimpleRNNCell(_GatedCell):
    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def call(self, inputs, states, training=None):
        prev_output = _state_operand(states[0] if is_nested(states) else states, self.recurrent_dropout > 0)
        dp_mask = self.get_dropout_mask_for_cell(inputs, training)
        rec_dp_mask = self.get_recurrent_dropout_mask_for_cell(prev_output, training)
        h = (inputs * dp_mask if dp_mask is not None else inputs) @ self.kernel
        if self.bias is not None:
            h = h + self.bias
        if rec_dp_mask is not None:
            prev_output = prev_output * rec_dp_mask
        output = self.activation(add(h, matmul(prev_output, self.recurrent_kernel)))
        return output, [output] if is_nested(states) else output


class GRUCell(_GatedCell):
    n_gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after
        self.state_size = self.units
        self.output_size = self.units

    def _build_bias(self):
        # reset_after keeps separate input and recurrent biases: shape (2, 3 * units).
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.add_weight("bias", shape, initializer=self.bias_initializer)

    def call(self, inputs, states, training=None):
        h_tm1 = _state_operand(states[0] if is_nested(states) else states, 0 < self.recurrent_dropout < 1)
        u = self.units
        dp = self.get_dropout_mask_for_cell(inputs, training, count=3)
        rec_dp = self.get_recurrent_dropout_mask_for_cell(h_tm1, training, count=3)
        if self.use_bias:
            input_bias, recurrent_bias = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        k, rk = self.kernel, self.recurrent_kernel
        if self.implementation == 1:
            x_in = [inputs * m for m in dp] if dp is not None else [inputs] * 3
            h_in = [h_tm1 * m for m in rec_dp] if rec_dp is not None else [h_tm1] * 3
            x_z, x_r, x_h = (x_in[g] @ k[:, g * u:(g + 1) * u] for g in range(3))
            if self.use_bias:
                x_z, x_r, x_h = x_z + input_bias[:u], x_r + input_bias[u:2 * u], x_h + input_bias[2 * u:]
            rec_z = matmul(h_in[0], rk[:, :u])
            rec_r = matmul(h_in[1], rk[:, u:2 * u])
            if self.reset_after and self.use_bias:
                rec_z, rec_r = rec_z + recurrent_bias[:u], rec_r + recurrent_bias[u:2 * u]
            z = self.recurrent_activation(add(x_z, rec_z))
            r = self.recurrent_activation(add(x_r, rec_r))
            if self.reset_after:
                rec_h = h_in[2] @ rk[:, 2 * u:]
                if self.use_bias:
                    rec_h = rec_h + recurrent_bias[2 * u:]
                rec_h = r * rec_h
            else:
                rec_h = (r * h_in[2]) @ rk[:, 2 * u:]
        else:
            x = inputs * dp[0] if dp is not None else inputs
            matrix_x = x @ k
            if self.use_bias:
                matrix_x = matrix_x + input_bias
            x_z, x_r, x_h = matrix_x[:, :u], matrix_x[:, u:2 * u], matrix_x[:, 2 * u:]
            if self.reset_after:
                inner = matmul(h_tm1, rk)
                if self.use_bias:
                    inner = inner + recurrent_bias
            else:
                inner = matmul(h_tm1, rk[:, :2 * u])
            z = self.recurrent_activation(add(x_z, inner[:, :u]))
            r = self.recurrent_activation(x_r + inner[:, u:2 * u])
            rec_h = r * inner[:, 2 * u:] if self.reset_after else (r * h_tm1) @ rk[:, 2 * u:]
        hh = self.activation(x_h + rec_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, [h] if is_nested(states) else h


class LSTMCell(_GatedCell):
    n_gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def _build_bias(self):
        u, init = self.units, self.bias_initializer
        if self.unit_forget_bias:
            def init(shape, dtype, _base=self.bias_initializer):
                return np.concatenate([_base((u,), dtype), np.ones((u,), dtype), _base((2 * u,), dtype)])
        return self.add_weight("bias", (4 * u,), initializer=init)

    def call(self, inputs, states, training=None):
        h_tm1, c_tm1 = _state_operand(states[0], 0 < self.recurrent_dropout < 1), states[1]
        u = self.units
        dp = self.get_dropout_mask_for_cell(inputs, training, count=4)
        rec_dp = self.get_recurrent_dropout_mask_for_cell(h_tm1, training, count=4)
        k, rk = self.kernel, self.recurrent_kernel
        if self.implementation == 1:
            x_in = [inputs * m for m in dp] if dp is not None else [inputs] * 4
            h_in = [h_tm1 * m for m in rec_dp] if rec_dp is not None else [h_tm1] * 4
            gates = []
            for g in range(4):
                x_g = x_in[g] @ k[:, g * u:(g + 1) * u]
                if self.use_bias:
                    x_g = x_g + self.bias[g * u:(g + 1) * u]
                gates.append(add(x_g, matmul(h_in[g], rk[:, g * u:(g + 1) * u])))
        else:
            z = add((inputs * dp[0] if dp is not None else inputs) @ k, matmul(h_tm1, rk))
            if self.use_bias:
                z = z + self.bias
            gates = [z[:, g * u:(g + 1) * u] for g in range(4)]
        i = self.recurrent_activation(gates[0])
        f = self.recurrent_activation(gates[1])
        c = f * c_tm1 + i * self.activation(gates[2])
        o = self.recurrent_activation(gates[3])
        h = o * self.activation(c)
        return h, [h, c]


class AbstractRNNCell(Layer):
    """Keras 2's base for custom cells: a subclass defines `call`, `state_size` and `output_size`.

    Those it leaves out raise NotImplementedError when used (ERR-24); construction still passes
    because the names exist on the class.
    """

    def call(self, inputs, states):
        raise NotImplementedError

    @property
    def state_size(self):
        raise NotImplementedError

    @property
    def output_size(self):
        raise NotImplementedError

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        return zero_state_for_cell(self, inputs, batch_size, dtype)


class StackedRNNCells(Layer):
    """A list of cells run as one: each cell's output is the next cell's input (CELL-10)."""

    def __init__(self, cells, **kwargs):
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(
                    f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError(
                    "All cells must have a `state_size` attribute. "
                    f"Received cell without a `state_size`: {cell}")
        self.cells = cells
        super().__init__(**kwargs)

    def _sublayers(self):
        return list(self.cells)

    @property
    def state_size(self):
        return tuple(c.state_size for c in self.cells)

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return last.state_size[0] if is_multiple_state(last.state_size) else last.state_size

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        states = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            states.append(fn(inputs=inputs, batch_size=batch_size, dtype=dtype) if fn
                          else zero_state_for_cell(cell, inputs, batch_size, dtype))
        return tuple(states)

    def call(self, inputs, states, constants=None, training=None, **kwargs):
        nested_states = pack_sequence_as(self.state_size, flatten(states))
        new_nested_states = []
        for cell, cell_states in zip(self.cells, nested_states):
            cell_states = cell_states if is_nested(cell_states) else [cell_states]
            kw = dict(kwargs)
            if has_arg(cell.call, "training"):
                kw["training"] = training
            if has_arg(cell.call, "constants"):
                kw["constants"] = constants
            fn = cell.__call__ if callable(cell) else cell.call
            inputs, cell_states = fn(inputs, cell_states, **kw)
            new_nested_states.append(cell_states)
        return inputs, pack_sequence_as(self.state_size, flatten(new_nested_states))

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            out = getattr(cell, "output_size", None)
            if out is None:
                out = cell.state_size[0] if is_multiple_state(cell.state_size) else cell.state_size
            input_shape = tuple([input_shape[0]] + dims_of(out))
        self.built = True
