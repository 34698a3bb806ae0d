"""rnnconf's reference implementation of the Keras 2 RNN API, in pure NumPy.

The namespace mirrors `tf.keras.layers` (interfaces.md section 1). Where each piece lives:
rnn.py (the RNN layer and its flags), loop.py (the time loop: masks, go_backwards, unroll),
cells.py (SimpleRNNCell, GRUCell, LSTMCell, StackedRNNCells, AbstractRNNCell), layers.py (SimpleRNN,
GRU, LSTM, Embedding), layer.py (the Layer base class for custom cells), activations.py and
initializers.py (Keras 2's definitions, seeded), nest.py (nested states, TensorShape), gradients.py
(back-propagation through the loop), errors.py and checked_ops.py (TensorFlow's error classes and
messages where a NumPy op fails).
"""
from .cells import AbstractRNNCell, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .errors import InvalidArgumentError, OutOfRangeError
from .layer import InputSpec, Layer
from .layers import GRU, LSTM, Embedding, SimpleRNN
from .nest import TensorShape
from .initializers import seed as rnnconf_set_seed  # the adapter protocol's seeding hook
from .gradients import rnnconf_gradients  # the adapter protocol's gradient hook: back-propagation in NumPy
from .rnn import RNN

__all__ = ["RNN", "AbstractRNNCell", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "SimpleRNN",
           "GRU", "LSTM", "Embedding", "Layer", "InputSpec", "TensorShape", "InvalidArgumentError", "OutOfRangeError",
           "rnnconf_gradients"]
