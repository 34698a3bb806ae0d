"""Exception classes named like the oracle's TensorFlow errors.

A NumPy implementation cannot raise `tf.errors.*`; the conformance suite compares error classes by
name, so these carry the oracle's names (ERR-38..ERR-43 in error-paths.md).
"""


class InvalidArgumentError(ValueError):
    """An op got operands of incompatible shapes (TF: tf.errors.InvalidArgumentError)."""


class OutOfRangeError(IndexError):
    """A read past the end of a sequence (TF: tf.errors.OutOfRangeError)."""
