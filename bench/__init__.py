"""Benchmarks (not part of the default test run); each module runs as a script."""
