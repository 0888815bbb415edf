"""The lecture note's experiment, trained through Lightning's Trainer.

Two uniform blobs of 200 points each, shuffled and split without overlap (300
for training, 100 for testing; the note's X[:300] / X[100:] overlapped),
standardized with the training statistics only, 5 epochs of the per-sample
perceptron rule, the training set reshuffled every epoch (the note kept one
order), then the test accuracy. Prints the weights, the bias and the test
accuracy like the note, and writes two plots to --out (default outputs/): the
training and test sets with the learned decision boundary, and the mistakes
per epoch. examples/plain_pytorch_loop.py is the same run without Lightning.
"""

import os

import lightning as L
import matplotlib
from lightning.pytorch.loggers import CSVLogger

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from _common import save, script_parser  # noqa: E402
from torch_perceptron.lightning import PerceptronClassifier, TwoBlobsDataModule  # noqa: E402
from torch_perceptron.lightning.console import quiet_lightning  # noqa: E402


def plot_sets(model: PerceptronClassifier, data: TwoBlobsDataModule, path: str) -> None:
    w = model.layer.weight[0].detach().cpu()
    b = float(model.layer.bias[0])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, (title, subset) in zip(axes, [("Training set", data.train_set), ("Test set", data.test_set)]):
        x, y = subset.tensors
        for label, marker, color in [(0, "o", "tab:blue"), (1, "s", "tab:orange")]:
            pts = x[y == label]
            ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=18, c=color, alpha=0.75, label=f"class {label}")
        xs = torch.linspace(-3, 3, 2)
        if abs(float(w[1])) > 1e-12:
            ax.plot(xs, -(w[0] * xs + b) / w[1], "k-", lw=2, label="decision boundary")
        elif abs(float(w[0])) > 1e-12:
            ax.axvline(-b / float(w[0]), color="k", lw=2, label="decision boundary")
        ax.set(title=title, xlabel="feature 1", xlim=(-3, 3), ylim=(-3, 3))
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("feature 2")
    save(fig, path, dpi=120)


def plot_mistakes(mistakes: list[int], path: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.4))
    epochs = range(1, len(mistakes) + 1)
    ax.plot(epochs, mistakes, "o-")
    ax.set(
        title="Mistakes per epoch (training set, online rule)",
        xlabel="epoch",
        ylabel="mistakes",
        xticks=list(epochs),
        ylim=(0, max(mistakes + [1]) * 1.15),
    )
    save(fig, path, dpi=120)


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="samples per training step (the rule is per sample regardless)"
    )
    parser.add_argument("--out", default="outputs", help="where the plots and logs go")
    args = parser.parse_args()

    quiet_lightning()
    L.seed_everything(args.seed, verbose=False)
    data = TwoBlobsDataModule(seed=args.seed, batch_size=args.batch_size)
    print("X_train:", tuple(data.train_set.tensors[0].shape), "X_test:", tuple(data.test_set.tensors[0].shape))
    model = PerceptronClassifier(in_features=2)
    trainer = L.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=1,
        default_root_dir=args.out,
        logger=CSVLogger(args.out, name="seed_experiment"),
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, data)
    test_acc = trainer.test(model, data, verbose=False)[0]["test_acc"]

    os.makedirs(args.out, exist_ok=True)
    sets_png = os.path.join(args.out, "seed_decision_boundary.png")
    mistakes_png = os.path.join(args.out, "seed_mistakes_per_epoch.png")
    plot_sets(model, data, sets_png)
    plot_mistakes(model.mistakes_per_epoch, mistakes_png)
    print("Plots:", sets_png, mistakes_png)

    # The note's report, last: the same lines as examples/plain_pytorch_loop.py.
    print("Mistakes per epoch:", model.mistakes_per_epoch)
    print("Model parameters:")
    print("  Weights:", model.layer.weight.detach().cpu())
    bias = model.layer.bias.detach().cpu()
    # Learned like the weights; a 0 would otherwise read as a bias left out.
    ends_at_0 = "; it happens to end at 0 with this seed" if float(bias[0]) == 0 else ""
    print("  Bias:", bias, f"(learned with the weights{ends_at_0})")
    print(f"Test set accuracy: {test_acc * 100:.2f}%")


if __name__ == "__main__":
    main()
