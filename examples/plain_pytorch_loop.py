"""The lecture note's experiment with PerceptronLayer in a plain PyTorch loop
(no Lightning): the same run as `make run` (examples/seed_experiment.py).

Two uniform blobs of 200 points, shuffled, 300 for training and 100 for testing
(no overlap, unlike the note's X[:300] / X[100:]), standardized with training
statistics, 5 epochs of the per-sample rule, then the test accuracy. The same
data and, every epoch, the same reshuffled training order as the Lightning run
(the note kept one order), so it prints the same weights and accuracy.
"""

import argparse

import torch

from torch_perceptron import PerceptronLayer
from torch_perceptron.datasets import epoch_order, seed_split


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
    mistakes = []
    for epoch in range(args.epochs):
        order = epoch_order(len(x_train), args.seed, epoch).to(device)
        mistakes.append(int(ppn.update(x_train[order], y_train[order]).sum()))

    pred = ppn(data.x_test.to(device)).squeeze(1).cpu()
    acc = (pred == data.y_test).float().mean()
    print("Mistakes per epoch:", mistakes)
    print("Model parameters:")
    print("  Weights:", ppn.weight.cpu())
    bias = ppn.bias.cpu()
    # Learned like the weights; a 0 would otherwise read as a bias left out.
    ends_at_0 = "; it happens to end at 0 with this seed" if float(bias[0]) == 0 else ""
    print("  Bias:", bias, f"(learned with the weights{ends_at_0})")
    print(f"Test set accuracy: {acc.item() * 100:.2f}%")


if __name__ == "__main__":
    main()
