"""The command line: Lightning's CLI over PerceptronClassifier and the data
modules, so a CSV file trains without writing Python.

    torch-perceptron fit --data CSVDataModule --data.path data.csv \\
        --data.label_column label --trainer.max_epochs 10
    python -m torch_perceptron fit --config config.yaml

The model's ``in_features`` and ``num_classes`` come from the data module.
"""

from typing import Optional, Sequence

from lightning.pytorch.cli import LightningCLI

from .lightning import PerceptronClassifier, TensorDataModule


class PerceptronCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.in_features", "model.in_features", apply_on="instantiate")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")


def main(args: Optional[Sequence[str]] = None) -> PerceptronCLI:
    return PerceptronCLI(
        PerceptronClassifier,
        TensorDataModule,
        subclass_mode_data=True,
        args=list(args) if args is not None else None,
        save_config_kwargs={"overwrite": True},
    )


if __name__ == "__main__":
    main()
