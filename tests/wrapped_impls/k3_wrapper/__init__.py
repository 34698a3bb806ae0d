"""A package built on Keras 3: it re-exports `keras.layers` under its own name and defines none of
rnnconf's optional hooks (interfaces: README, "Validate your implementation")."""
from keras.layers import *  # noqa: F401,F403
