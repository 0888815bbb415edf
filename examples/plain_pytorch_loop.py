"""The lecture note's experiment with PerceptronLayer in a plain PyTorch loop (no Lightning).

Two uniform blobs of 200 points, shuffled, 300 for training and 100 for testing
(no overlap, unlike the note's X[:300] / X[100:]), standardized with training
statistics, 5 epochs of the per-sample rule, then the test accuracy.
"""

import argparse

import torch

from torch_perceptron import PerceptronLayer
from torch_perceptron.datasets import seed_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = seed_split(args.seed)
    print("X_train:", tuple(data.x_train.shape), "X_test:", tuple(data.x_test.shape))

    ppn = PerceptronLayer(in_features=2, device=device)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    for epoch in range(args.epochs):
        mistakes = ppn.update(x_train, y_train)
        print(f"epoch {epoch + 1}: {int(mistakes.sum())} mistakes")

    print("Model parameters:")
    print("  Weights:", ppn.weight.cpu())
    print("  Bias:", ppn.bias.cpu())
    pred = ppn(data.x_test.to(device)).squeeze(1).cpu()
    acc = (pred == data.y_test).float().mean()
    print(f"Test set accuracy: {acc.item() * 100:.2f}%")


if __name__ == "__main__":
    main()
