"""The contract: its Markdown (clauses.md, error-paths.md, interfaces.md) and its data as Python."""
