"""The benchmark suite: ``python -m benchmarks.run`` (see BENCHMARKS.md).

Kept free of imports so that ``benchmarks.run`` can pin OpenMP threads before
torch is loaded.
"""
