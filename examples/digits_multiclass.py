"""The multiclass perceptron on scikit-learn's bundled digits (8x8 images, 10
classes), through Lightning's Trainer: one weight row per class, the predicted
class is the argmax of the decision values, and a mistake moves two rows."""

import argparse

import lightning as L

from torch_perceptron.lightning import PerceptronClassifier, SklearnDataModule
from torch_perceptron.lightning.console import quiet_lightning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rule", choices=["multiclass", "online", "batch"], default="multiclass")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    quiet_lightning()
    L.seed_everything(args.seed, verbose=False)
    data = SklearnDataModule("digits", batch_size=64, seed=args.seed)
    model = PerceptronClassifier(data.in_features, data.num_classes, rule=args.rule)
    trainer = L.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, data)
    acc = trainer.test(model, data, verbose=False)[0]["test_acc"]
    print("Mistakes per epoch:", model.mistakes_per_epoch)
    print(f"Test accuracy: {acc * 100:.2f}% ({args.rule} rule, {args.epochs} epochs)")


if __name__ == "__main__":
    main()
