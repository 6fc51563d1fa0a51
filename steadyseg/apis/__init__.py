"""High-level entry points used by tools, notebooks and benchmarks."""
