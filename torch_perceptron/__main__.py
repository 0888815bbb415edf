"""`python -m torch_perceptron`: the Lightning command line (see cli.py)."""

from .cli import main

main()
