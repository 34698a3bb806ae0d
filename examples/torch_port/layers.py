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

import torch

from .cells import (GRUCell, LSTMCell, SimpleRNNCell, _StackedCells, _as_tensor, _check_base_kwargs, _flat,
                    _refuse_foreign_cells, _refuse_unless_none, _torch_dtype)


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
        if constants is not None and not isinstance(self.cell, _StackedCells):
            # Keras' stack takes `constants` and hands them only to cells that accept them (none here)
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
        if not self.return_state:
            return output
        # Keras 2 returns the final states nested as the initial states were given (an LSTM's pair as a
        # tuple, a single state wrapped in a list); without them, one entry per cell.
        nested = self._nested(states) if initial_state is None or not isinstance(initial_state, (list, tuple)) \
            else _nested_like(list(initial_state), iter(states))
        return [output, *nested]

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
        shape = tuple(x.transpose(0, 1).shape if self.time_major else x.shape)  # the inputs' own layout
        batch_axis = 1 if self.time_major else 0
        if (features is not None and shape[-1] != features) or (batch is not None and shape[batch_axis] != batch):
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


def _nested_like(given, states):
    """The `states` (an iterator over the flat final states) nested as `given`, the initial states."""
    if isinstance(given, (list, tuple)):
        return type(given)(_nested_like(item, states) for item in given)
    return next(states)
