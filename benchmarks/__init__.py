"""Benchmarks of schedalg against its peers: ``python -m benchmarks [--quick]``.

One run measures everything and prints one table of medians and ratios (see ``__main__``).
Nothing here is imported by the library or the tests.
"""
