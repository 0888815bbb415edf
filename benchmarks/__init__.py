"""The benchmark suite: ``python -m benchmarks.run`` (see BENCHMARKS.md).

Kept free of imports: a fresh process timing scikit-learn imports this package
and must load neither torch nor this project (see fresh.py).
"""
