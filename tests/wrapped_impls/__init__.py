"""Test-only third-party namespaces that wrap a known framework without any rnnconf hook: rnnconf must
recognise what they are built on and report exactly what it reports for the framework itself."""
