"""A scikit-learn estimator on the compiled perceptron ops, CPU or CUDA:
:class:`Perceptron` (and :class:`PerceptronClassifier`, its former name).

Split as scikit-learn splits its own SGD estimators:

- :mod:`.params`: the parameters and their checks (``BaseSGD``);
- :mod:`.arithmetic`: scikit-learn's arithmetic of steps and random draws,
  and :mod:`.orders`, its sample orders;
- :mod:`.weights`: the weight state, its layout, the call into the ops,
  ``coef_`` and ``intercept_``;
- :mod:`.loop` and :mod:`.epochs`: the epoch loop and stopping;
- :mod:`.verbose`: the verbose lines;
- :mod:`.estimator`: the estimator's API (``fit``, ``partial_fit``,
  ``decision_function``, ``predict``).

This package imports scikit-learn; ``import torch_perceptron`` does not import
it (install the ``sklearn`` extra).
"""

from .estimator import Perceptron, PerceptronClassifier

__all__ = ["Perceptron", "PerceptronClassifier"]
