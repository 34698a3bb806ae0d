"""Classifying an oracle error into its ERR-xx path (error-paths.md). Filled in by the error-path work."""


def classify(error, case=None):
    """The ERR-xx id of an oracle error description ({"type", "message", ...}), or None."""
    return None
