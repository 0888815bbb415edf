"""Lightning support: a LightningModule driving the perceptron rule, data
modules, and the "perceptron_ddp" strategy (registered on import)."""

from .data import CSVDataModule, SklearnDataModule, TensorDataModule, TwoBlobsDataModule
from .module import PerceptronClassifier
from .strategy import PerceptronDDPStrategy
from .summary import PerceptronSummary

__all__ = [
    "CSVDataModule",
    "PerceptronClassifier",
    "PerceptronDDPStrategy",
    "PerceptronSummary",
    "SklearnDataModule",
    "TensorDataModule",
    "TwoBlobsDataModule",
]
