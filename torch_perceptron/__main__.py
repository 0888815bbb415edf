"""`python -m torch_perceptron`: the Lightning command line (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
