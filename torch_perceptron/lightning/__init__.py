"""Lightning support: a LightningModule driving the perceptron rule, data
modules (dense and sparse), and the "perceptron_ddp" strategy (registered on import)."""

from .data import CSVDataModule, SklearnDataModule, TensorDataModule, TwoBlobsDataModule
from .module import PerceptronClassifier
from .sparse_data import SparseDataModule, SvmlightDataModule
from .strategy import PerceptronDDPStrategy
from .summary import PerceptronSummary

__all__ = [
    "CSVDataModule",
    "PerceptronClassifier",
    "PerceptronDDPStrategy",
    "PerceptronSummary",
    "SklearnDataModule",
    "SparseDataModule",
    "SvmlightDataModule",
    "TensorDataModule",
    "TwoBlobsDataModule",
]
