"""torch_port: Keras 2's recurrent layers (the `tf.keras.layers` names and arguments) on PyTorch.

An example of a port written by hand, the kind a team writes to move a Keras model to PyTorch:
load a Keras layer's `get_weights()` into the layer of the same name here and it computes the same
outputs. docs/port.md shows how such a port is checked against Keras with rnnconf.
"""
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .layers import GRU, LSTM, RNN, SimpleRNN

__all__ = ["RNN", "SimpleRNNCell", "GRUCell", "LSTMCell", "SimpleRNN", "GRU", "LSTM"]
