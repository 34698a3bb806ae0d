"""`RNN`: the layer of the contract, every flag of tf.keras.layers.RNN (Keras 2) in NumPy.

Flags: return_sequences (FLAG-01), return_state (FLAG-02), go_backwards (FLAG-03), stateful and
reset_states (FLAG-04, STATE-*), unroll (FLAG-05), time_major (FLAG-06), zero_output_for_mask
(FLAG-07). Call arguments: mask, training, initial_state, constants (CALL-*). The time loop is in
loop.py.
"""
import numpy as np

from . import loop
from .cells import StackedRNNCells, DropoutRNNCellMixin, zero_state
from .layer import InputSpec, Layer, has_arg, with_mask
from .nest import dims_of, flatten, is_multiple_state, is_nested, map_structure, pack_sequence_as


def standardize_args(inputs, initial_state, constants, num_constants):
    """Split a list input `[x, *initial_state, *constants]`; normalise both keywords to lists."""
    if isinstance(inputs, list):
        assert initial_state is None and constants is None
        if num_constants:
            constants = inputs[-num_constants:]
            inputs = inputs[:-num_constants]
        if len(inputs) > 1:
            initial_state = inputs[1:]
            inputs = inputs[:1]
        inputs = tuple(inputs) if len(inputs) > 1 else inputs[0]

    def to_list_or_none(x):
        if x is None or isinstance(x, list):
            return x
        return list(x) if isinstance(x, tuple) else [x]

    return inputs, to_list_or_none(initial_state), to_list_or_none(constants)


class RNN(Layer):
    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. The RNN was passed: cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (tuple of integers, one integer per "
                f"RNN state). Received: cell={cell}")
        self.zero_output_for_mask = kwargs.pop("zero_output_for_mask", False)
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim", None))
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.time_major = time_major
        self.supports_masking = True
        self.state_spec = None
        self._states = None
        self._num_constants = 0

    def _sublayers(self):
        return [self.cell]

    # ---- states ------------------------------------------------------------------------------
    @property
    def states(self):
        if self._states is None:
            state = map_structure(lambda _: None, self.cell.state_size)
            return state if is_nested(self.cell.state_size) else [state]
        return self._states

    @states.setter
    def states(self, states):
        self._states = states

    def _state_sizes(self):
        size = self.cell.state_size
        return list(size) if is_multiple_state(size) else [size]

    def get_initial_state(self, inputs):
        """The cell's own initial state if it has one (CELL-08), zeros otherwise (CELL-09)."""
        if is_nested(inputs):
            inputs = flatten(inputs)[0]
        batch_size = inputs.shape[1] if self.time_major else inputs.shape[0]
        fn = getattr(self.cell, "get_initial_state", None)
        if fn:
            state = fn(inputs=None, batch_size=batch_size, dtype=inputs.dtype)
        else:
            state = zero_state(batch_size, self.cell.state_size, inputs.dtype)
        return list(state) if is_nested(state) else [state]

    def reset_states(self, states=None):
        """Reset (STATE-03) or set (STATE-04) the states of a stateful layer."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        spec_shape = self.input_spec[0].shape if self.input_spec else None
        batch_size = None if spec_shape is None else spec_shape[1 if self.time_major else 0]
        if not batch_size:
            raise ValueError(
                "If a RNN is stateful, it needs to know its batch size. Specify the batch size of your "
                "input tensors: \n- If using a Sequential model, specify the batch size by passing a "
                "`batch_input_shape` argument to your first layer.\n- If using the functional API, "
                "specify the batch size by passing a `batch_shape` argument to your Input layer.")
        if flatten(self.states)[0] is None:
            fn = getattr(self.cell, "get_initial_state", None)
            init = fn(inputs=None, batch_size=batch_size, dtype=self.dtype) if fn \
                else zero_state(batch_size, self.cell.state_size, self.dtype)
            flat = [np.array(v, dtype=self.dtype) for v in flatten(init)]
            packed = pack_sequence_as(self.cell.state_size, flat) if is_nested(self.cell.state_size) else flat[0]
            self.states = packed if is_nested(packed) else [packed]
        elif states is None:
            for state in flatten(self.states):
                state[...] = 0
        else:
            flat_states, flat_values = flatten(self.states), flatten(states)
            if len(flat_values) != len(flat_states):
                raise ValueError(
                    f"Layer {self.name} expects {len(flat_states)} states, but it received "
                    f"{len(flat_values)} state values. States received: {states}")
            for i, (value, state) in enumerate(zip(flat_values, flat_states)):
                if value.shape != state.shape:
                    raise ValueError(
                        f"State {i} is incompatible with layer {self.name}: expected shape={state.shape} "
                        f"but found shape={value.shape}")
            for value, state in zip(flat_values, flat_states):
                state[...] = value  # cast to the state dtype, like the oracle (no dtype check)

    # ---- build and call ----------------------------------------------------------------------
    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        if input_shape and isinstance(input_shape[0], (tuple, list)):
            # Nested inputs (a tuple of arrays): one spec and one step shape per input, as tf_keras.
            self.input_spec = [self._input_spec_for(shape) for shape in input_shape]
            step_input_shape = tuple(self._step_shape(shape) for shape in input_shape)
        else:
            spec = self._input_spec_for(input_shape)
            if self.input_spec is not None:
                self.input_spec[0] = spec
            else:
                self.input_spec = [spec]
            step_input_shape = self._step_shape(input_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_input_shape)
            self.cell.built = True
        sizes = self._state_sizes()
        if self.state_spec is None:
            self.state_spec = [InputSpec(shape=[None] + dims_of(s)) for s in flatten(sizes)]
        self._validate_state_spec(sizes, self.state_spec)
        if self.stateful:
            self.reset_states()
        self.built = True

    def _input_spec_for(self, input_shape):
        """Batch (unless stateful) and time dims left free."""
        batch_index, time_index = (1, 0) if self.time_major else (0, 1)
        spec_shape = list(input_shape)
        if not self.stateful:
            spec_shape[batch_index] = None
        spec_shape[time_index] = None
        return InputSpec(shape=spec_shape)

    def _step_shape(self, input_shape):
        """The shape one timestep gives the cell: the input's without its time dim."""
        return tuple(input_shape[1:]) if self.time_major else (input_shape[0],) + tuple(input_shape[2:])

    @staticmethod
    def _validate_state_spec(sizes, specs):
        flat_sizes, flat_specs = flatten(sizes), flatten(specs)
        compatible = len(flat_sizes) == len(flat_specs) and all(
            len(spec.shape) - 1 == len(dims_of(size))
            and all(a is None or a == b for a, b in zip(spec.shape[1:], dims_of(size)))
            for spec, size in zip(flat_specs, flat_sizes))
        if not compatible:
            raise ValueError(
                "An `initial_state` was passed that is not compatible with `cell.state_size`. Received "
                f"`state_spec`={specs}; however `cell.state_size` is {sizes}")

    def __call__(self, inputs, initial_state=None, constants=None, **kwargs):
        inputs, initial_state, constants = standardize_args(inputs, initial_state, constants,
                                                            self._num_constants)
        if initial_state is not None:
            self.state_spec = map_structure(lambda s: InputSpec(shape=np.shape(s)), initial_state)
            kwargs["initial_state"] = initial_state
        if constants is not None:
            self._num_constants = len(constants)
            kwargs["constants"] = constants
        return super().__call__(inputs, **kwargs)

    def _process_inputs(self, inputs, initial_state, constants):
        if isinstance(inputs, list):
            if not self._num_constants:
                initial_state = inputs[1:]
            else:
                initial_state = inputs[1:-self._num_constants]
                constants = inputs[-self._num_constants:]
            if len(initial_state) == 0:
                initial_state = None
            inputs = inputs[0]
        if self.stateful:
            # The oracle uses a given initial_state only while the recorded states are all zero.
            if initial_state is None or any(np.count_nonzero(s) for s in flatten(self.states)):
                initial_state = self.states
            initial_state = map_structure(lambda v: np.asarray(v, self.dtype), initial_state)
        elif initial_state is None:
            initial_state = self.get_initial_state(inputs)
        if len(initial_state) != len(self.states):
            raise ValueError(
                f"Layer has {len(self.states)} states but was passed {len(initial_state)} initial "
                f"states. Received: initial_state={initial_state}")
        return inputs, initial_state, constants

    def _reset_dropout_masks(self):
        cells = [self.cell] + (list(self.cell.cells) if isinstance(self.cell, StackedRNNCells) else [])
        for cell in cells:
            if isinstance(cell, DropoutRNNCellMixin):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()

    def _step_function(self, training, constants):
        cell = self.cell
        kwargs = {"training": training} if has_arg(cell.call, "training") else {}
        cell_call = cell.__call__ if callable(cell) else cell.call
        n_const = self._num_constants
        if constants:
            if not has_arg(cell.call, "constants"):
                raise ValueError(f"RNN cell {cell} does not support constants. Received: constants={constants}")

            def step(inputs, states):
                output, new_states = cell_call(inputs, states[:-n_const], constants=states[-n_const:], **kwargs)
                return output, new_states if is_nested(new_states) else [new_states]
        else:
            def step(inputs, states):
                output, new_states = cell_call(inputs, states, **kwargs)
                return output, new_states if is_nested(new_states) else [new_states]
        return step

    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        inputs, initial_state, constants = self._process_inputs(inputs, initial_state, constants)
        self._reset_dropout_masks()
        if mask is not None:
            mask = flatten(mask)[0]
        return self._run(inputs, mask, initial_state, self._step_function(training, constants), constants)

    def _run(self, inputs, mask, initial_state, step, constants=None):
        last_output, outputs, states = loop.rnn(
            step, inputs, initial_state, constants=constants, go_backwards=self.go_backwards, mask=mask,
            unroll=self.unroll, time_major=self.time_major, zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences)
        if self.stateful:
            for stored, new in zip(flatten(self.states), flatten(states)):
                stored[...] = new
            # Returned states must not alias the layer's storage, which the next call overwrites.
            states = map_structure(np.array, states)
        if self.return_sequences:
            output = with_mask(outputs, mask) if mask is not None and not is_nested(outputs) else outputs
        else:
            output = last_output
        if self.return_state:
            return (list(output) if isinstance(output, list) else [output]) + list(states)
        return output
