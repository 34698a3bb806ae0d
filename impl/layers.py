"""The built-in recurrent layers (SimpleRNN, GRU, LSTM): an RNN around the matching cell.

Also `Embedding`, the documented way to feed a mask from upstream (MASK-02).
"""
import numpy as np

from . import activations, initializers
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .layer import InputSpec, Layer, with_mask
from .nest import flatten
from .rnn import RNN

_LAYER_KWARGS = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major",
                 "zero_output_for_mask", "name", "trainable", "input_shape", "batch_input_shape",
                 "batch_size", "input_dim", "input_length", "dtype", "weights", "activity_regularizer",
                 "autocast", "dynamic"}


class _CellLayer(RNN):
    cell_class = None
    cell_name = None

    def __init__(self, units, **kwargs):
        layer_kwargs = {k: v for k, v in kwargs.items() if k in _LAYER_KWARGS}
        cell_kwargs = {k: v for k, v in kwargs.items() if k not in _LAYER_KWARGS}
        if "seed" in cell_kwargs:  # a cell accepts `seed`; the oracle's layers reject it (ERR-37)
            raise TypeError("Keyword argument not understood:", "seed")
        if type(self) is SimpleRNN:
            cell_kwargs.pop("implementation", None)
        cell = self.cell_class(units, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               name=self.cell_name, **cell_kwargs)
        super().__init__(cell, **layer_kwargs)
        self.input_spec = [InputSpec(ndim=3)]

    def __getattr__(self, name):
        # units, activation, dropout, ... read through to the cell, as in tf_keras.
        if name != "cell" and "cell" in self.__dict__ and hasattr(self.__dict__["cell"], name):
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


# Each layer spells out its call() so that an unknown keyword (constants=) raises
# "SimpleRNN.call() got an unexpected keyword argument 'constants'", naming the class as the oracle does (ERR-33).
class SimpleRNN(_CellLayer):
    cell_class, cell_name = SimpleRNNCell, "simple_rnn_cell"

    def call(self, inputs, mask=None, training=None, initial_state=None):
        return RNN.call(self, inputs, mask=mask, training=training, initial_state=initial_state)


def _gated_layer_mask(mask):
    """GRU and LSTM take the first of a list of masks; anything else goes on to the time loop as it is,
    where the oracle reads `mask.dtype` (ERR-44: a tuple of masks is an AttributeError)."""
    if isinstance(mask, list):
        mask = mask[0]
    if mask is not None and not hasattr(mask, "dtype"):
        raise AttributeError(f"'{type(mask).__name__}' object has no attribute 'dtype'")
    return mask


def _takes_fused_path(layer, kwargs):
    """Whether tf_keras runs this GRU or LSTM on its fused path: the configuration its cuDNN kernel
    supports, taken on CPU too. Decided at construction from the arguments as given, as tf_keras does
    (recurrent_dropout before clamping, use_bias and reset_after by truth value)."""
    cell = layer.cell
    return (cell.activation is activations.tanh and cell.recurrent_activation is activations.sigmoid
            and kwargs.get("recurrent_dropout", 0.0) == 0 and not layer.unroll
            and bool(kwargs.get("use_bias", True))
            and (not isinstance(layer, GRU) or bool(kwargs.get("reset_after", True))))


def _gated_call(layer, inputs, mask, training, initial_state):
    mask = _gated_layer_mask(mask)
    if not layer._fused_path:
        return RNN.call(layer, inputs, mask=mask, training=training, initial_state=initial_state)
    # tf_keras' fused path bypasses the cell's dropout: it drops the whole input with one mask (the
    # cell's rate and 1 / (1 - rate) scaling) before its loop, so every timestep has a mask of its own.
    inputs, initial_state, _ = layer._process_inputs(inputs, initial_state, None)
    layer._reset_dropout_masks()
    dropout_mask = layer.cell.get_dropout_mask_for_cell(inputs, training)
    if dropout_mask is not None:
        inputs = inputs * dropout_mask
    if mask is not None:
        mask = flatten(mask)[0]
    # training=False: the cell must not drop the inputs a second time (recurrent dropout is 0 here).
    return layer._run(inputs, mask, initial_state, layer._step_function(False, None))


class GRU(_CellLayer):
    cell_class, cell_name = GRUCell, "gru_cell"

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self._fused_path = _takes_fused_path(self, kwargs)

    def call(self, inputs, mask=None, training=None, initial_state=None):
        return _gated_call(self, inputs, mask, training, initial_state)


class LSTM(_CellLayer):
    cell_class, cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        # As tf_keras' LSTM does (so LSTM(2.5) fails here, at construction, unlike GRU and SimpleRNN).
        self.state_spec = [InputSpec(shape=(None, dim)) for dim in (self.units, self.units)]
        self._fused_path = _takes_fused_path(self, kwargs)

    def call(self, inputs, mask=None, training=None, initial_state=None):
        return _gated_call(self, inputs, mask, training, initial_state)


class Embedding(Layer):
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, **kwargs):
        if input_dim <= 0 or output_dim <= 0:
            raise ValueError(
                "Both `input_dim` and `output_dim` should be positive, "
                f"Received input_dim = {input_dim} and output_dim = {output_dim}")
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = mask_zero
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return np.not_equal(inputs, 0) if self.mask_zero else None

    def call(self, inputs):
        out = np.take(self.embeddings, np.asarray(inputs).astype(np.int64), axis=0)
        return with_mask(out, self.compute_mask(inputs)) if self.mask_zero else out
