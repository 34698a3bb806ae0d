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
        # An input_spec emptied by a call with an empty initial_state fails here, as in the oracle.
        spec_shape = None if self.input_spec is None else self.input_spec[0].shape
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
        extra_inputs, extra_specs = [], []
        if initial_state is not None:
            self.state_spec = map_structure(lambda s: InputSpec(shape=np.shape(s)), initial_state)
            kwargs["initial_state"] = initial_state
            extra_inputs, extra_specs = extra_inputs + initial_state, extra_specs + self.state_spec
        if constants is not None:
            self._num_constants = len(constants)
            kwargs["constants"] = constants
            extra_inputs = extra_inputs + constants
            extra_specs = extra_specs + [InputSpec(shape=np.shape(c)) for c in constants]
        if (initial_state is not None or constants is not None) and not flatten(extra_inputs):
            return self._call_as_list(inputs, extra_inputs, extra_specs, kwargs)
        return super().__call__(inputs, **kwargs)

    def _call_as_list(self, inputs, extra_inputs, extra_specs, kwargs):
        """The oracle's path for an initial_state/constants without a single tensor in them (`[]`,
        `()`): it takes them for Keras tensors and calls with `[inputs, *them]`, so the call sees no
        initial state at all (zeros, or a stateful layer's states) and, where the layer is built,
        first-call checks (ERR-04) are skipped. Its input_spec loses the extra entries again by
        slicing `[:-len(extra)]`, which for none at all empties it."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("initial_state", "constants")}
        base = list(self.input_spec) if self.built else [None] * len(flatten(inputs))
        self.input_spec = flatten(base + extra_specs)  # the oracle flattens specs to check them
        if not self.built:  # from the input alone: an empty entry has no shape to build from
            self.build([tuple(np.shape(x) for x in inputs) if isinstance(inputs, tuple) else np.shape(inputs)])
            self.built = True
        output = super().__call__([inputs] + extra_inputs, **kwargs)
        self.input_spec = self.input_spec[:len(base)] if extra_specs else []
        return output

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
        finish = None
        if mask is not None and not self.unroll:
            step, finish = _structure_checked(step, initial_state)
        last_output, outputs, states = loop.rnn(
            step, inputs, initial_state, constants=constants, go_backwards=self.go_backwards, mask=mask,
            unroll=self.unroll, time_major=self.time_major, zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences)
        if finish is not None:
            finish()
        if self.stateful:
            for i, (stored, new) in enumerate(zip(flatten(self.states), flatten(states))):
                if np.shape(new) != stored.shape:
                    # Only the unrolled loop lets a state change shape (a state nested a level too deep,
                    # packed by recurrent dropout); the oracle's variable assignment refuses it, where
                    # NumPy would broadcast (1, batch, units) into (batch, units).
                    raise ValueError(
                        f"Cannot assign value to variable ' {self.name}/Variable:{i}': Shape mismatch.The "
                        f"variable shape {stored.shape}, and the assigned value shape {np.shape(new)} are "
                        "incompatible.")
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


# ---- the masked loop's structure check ------------------------------------------------------------
def _structure_checked(step, initial_state):
    """(`step` wrapped, `finish`): fail as the oracle's masked loop does when `initial_state` is
    nested unlike the states the cell returns (a tuple where the cell returns a list, one state
    wrapped in a list, a stack's states split differently between its cells). That loop is an eager
    tf.while_loop, which compares its variables after the first iteration with those it started from
    (tf.nest.assert_same_structure); the unmasked loop repacks the cell's states like the initial
    ones and the unrolled path has no while_loop, so both accept such a nesting. The error is raised
    once the first step is complete: on the next step, or by `finish` after a one-step loop."""
    pending = []
    first = [True]

    def checked(inputs, states):
        if pending:
            raise pending[0]
        output, new_states = step(inputs, states)
        if first[0]:
            first[0] = False
            error = _nest_mismatch(list(initial_state), list(new_states))
            if error is not None:
                pending.append(error)
        return output, new_states

    def finish():
        if pending:
            raise pending[0]
    return checked, finish


def _describe_nest(x):
    if is_nested(x):
        inner = ", ".join(_describe_nest(v) for v in x)
        return f"({inner},)" if isinstance(x, tuple) and len(x) == 1 else \
            f"({inner})" if isinstance(x, tuple) else f"[{inner}]"
    return f"Tensor(shape={tuple(np.shape(x))})"


def _nest_mismatch(first, second):
    """The error tf.nest.assert_same_structure(first, second) raises (types checked), or None."""
    detail = _nest_detail(first, second)
    if detail is None:
        return None
    cls, text = detail
    return cls("The two structures don't have the same nested structure.\n\n"
               f"First structure: {_describe_nest(first)}\n\nSecond structure: {_describe_nest(second)}\n\n"
               f"More specifically: {text}")


def _nest_detail(first, second):
    # The order of TensorFlow's checks: sequence or not, then sequence type, then length.
    if is_nested(first) != is_nested(second):
        return ValueError, (f'Substructure "{_describe_nest(first)}" is {"" if is_nested(first) else "not "}a '
                            f'sequence, while substructure "{_describe_nest(second)}" is'
                            f'{"" if is_nested(second) else " not"}')
    if not is_nested(first):
        return None
    if isinstance(first, tuple) != isinstance(second, tuple):
        return TypeError, ("The two namedtuples don't have the same sequence type. First structure "
                           f"{_describe_nest(first)} has type {type(first).__name__}, while second structure "
                           f"{_describe_nest(second)} has type {type(second).__name__}")
    if len(first) != len(second):
        return ValueError, (f"The two structures don't have the same number of elements. First structure: "
                            f"{_describe_nest(first)}. Second structure: {_describe_nest(second)}.")
    for a, b in zip(first, second):
        detail = _nest_detail(a, b)
        if detail is not None:
            return detail
    return None
