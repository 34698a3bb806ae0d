"""A package built on tf_keras: it re-exports `tf_keras.layers` under its own name and defines none
of rnnconf's optional hooks (interfaces: README, "Validate your implementation")."""
from tf_keras.layers import *  # noqa: F401,F403
