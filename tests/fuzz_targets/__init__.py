"""Test-only implementations: the reference namespace with one realistic bug each (or a crash, or a
hang), for checking that the fuzzer finds, shrinks and survives them. Not part of rnnconf."""
