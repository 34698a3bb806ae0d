"""What reaches an implementation: namespaces and adapters, worker processes, target environments, converters."""
