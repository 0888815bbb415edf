"""The artificial neuron as a logic gate: the perceptron rule learns AND, OR and
NAND from their four rows, and never learns XOR.

For each gate a PerceptronLayer(2) starts at zero weights and sees the truth
table's four rows in order, --epochs times. The mistakes per epoch fall to 0
for AND, OR and NAND, and the learned line separates the 1-rows from the
0-rows; for XOR they never reach 0 and the line keeps moving: the plot shows
it after each mistake of the last epoch (PerceptronLayer.update_traced). Then the lecture's w0 notation: a layer with a bias on the inputs, and a
layer without one (bias=False) on the inputs with a 1 prepended, learn the same
weights (the bias is w0) and make the same predictions.

Writes --out/logic_gates.png (the four points with the learned lines, and the
mistakes per epoch) and --out/logic_gates.json (what is printed).

    python examples/logic_gates.py [--epochs 12] [--out outputs]
"""

import os
from typing import NamedTuple, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from _common import save, script_parser, write_json  # noqa: E402
from torch_perceptron import PerceptronLayer  # noqa: E402

ROWS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
GATES = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "XOR": [0, 1, 1, 0],
}
WHY_XOR = (
    "XOR's 1-rows (0,1), (1,0) and 0-rows (0,0), (1,1) lie on the two crossing "
    "diagonals of the square, so no line separates them, and the rule, which "
    "moves its line after every mistake, can never stop."
)


class GateRun(NamedTuple):
    mistakes: list[int]  # per epoch
    weights: list[list[float]]  # [w1, w2, b] at the end of each epoch
    last_epoch: list[list[float]]  # [w1, w2, b] after each mistake of the last epoch
    predictions: list[int]  # the truth table the final weights compute


def learn(labels: list[int], epochs: int) -> GateRun:
    layer = PerceptronLayer(2)
    y = torch.tensor(labels)
    mistakes, weights = [], []
    for _ in range(epochs):
        trace = layer.update_traced(ROWS, y)
        mistakes.append(int(trace.mistakes))
        weights.append([*layer.weight[0].tolist(), float(layer.bias[0])])
    last = torch.cat([trace.weight[:, 0], trace.bias], 1).tolist()
    return GateRun(mistakes, weights, last, [int(p) for p in layer(ROWS)[:, 0].tolist()])


def w0_notation(labels: list[int], epochs: int) -> tuple[Tensor, Tensor, bool]:
    """Trains a layer with a bias on the rows and one without on [1, row];
    returns both as [w0 or b, w1, w2] and whether their predictions agree."""
    with_bias, folded = PerceptronLayer(2), PerceptronLayer(3, bias=False)
    ones = torch.cat([torch.ones(4, 1), ROWS], 1)
    y = torch.tensor(labels)
    for _ in range(epochs):
        with_bias.update(ROWS, y)
        folded.update(ones, y)
    same = torch.equal(with_bias(ROWS), folded(ones))
    return torch.cat([with_bias.bias, with_bias.weight[0]]), folded.weight[0], same


def draw_line(ax, w1: float, w2: float, b: float, **style) -> None:
    xs = torch.tensor([-0.5, 1.5])
    if abs(w2) > 0:
        ax.plot(xs, -(w1 * xs + b) / w2, **style)
    elif abs(w1) > 0:
        ax.axvline(-b / w1, **style)


def plot(runs: dict[str, GateRun], path: str) -> None:
    fig, axes = plt.subplots(2, len(runs), figsize=(3.1 * len(runs), 6.0), gridspec_kw={"height_ratios": [1.25, 1]})
    for col, (name, run) in enumerate(runs.items()):
        top, bottom = axes[0, col], axes[1, col]
        labels = GATES[name]
        for (a, b), t in zip(ROWS.tolist(), labels):
            top.scatter(
                a, b, s=140, marker="s" if t else "o", c="tab:orange" if t else "tab:blue", edgecolor="k", zorder=3
            )
        converged = run.mistakes[-1] == 0
        if converged:
            w1, w2, b = run.weights[-1]
            draw_line(top, w1, w2, b, color="k", lw=2)
            title = f"{name}: learned"
        else:
            # The line after each mistake of the last epoch: it never settles.
            last = run.last_epoch
            for i, (w1, w2, b) in enumerate(last):
                shade = plt.cm.Reds(0.35 + 0.65 * i / max(1, len(last) - 1))
                draw_line(top, w1, w2, b, lw=1.5, color=shade, label=f"{i + 1}: w=({w1:g}, {w2:g}), b={b:g}")
            top.legend(loc="center", fontsize=6.5, framealpha=0.85, title="after mistake", title_fontsize=6.5)
            title = f"{name}: never learned"
        top.set(
            title=title,
            xlim=(-0.5, 1.5),
            ylim=(-0.5, 1.5),
            xticks=[0, 1],
            yticks=[0, 1],
            aspect="equal",
            xlabel="$x_1$",
        )
        epochs = range(1, len(run.mistakes) + 1)
        bottom.bar(epochs, run.mistakes, color="tab:green" if converged else "tab:red")
        bottom.set(xlabel="epoch", ylim=(0, 4.3), yticks=range(5), xticks=[e for e in epochs if e == 1 or e % 2 == 0])
    axes[0, 0].set_ylabel("$x_2$")
    axes[1, 0].set_ylabel("mistakes per epoch")
    fig.suptitle(
        "The perceptron as a logic gate (square = 1, circle = 0; XOR: the line after each mistake of the last epoch)",
        fontsize=10,
    )
    save(fig, path)


def main(argv: Optional[list[str]] = None) -> dict:
    parser = script_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default="outputs")
    args = parser.parse_args(argv)

    runs = {name: learn(labels, args.epochs) for name, labels in GATES.items()}
    result: dict = {"gates": {}, "w0_notation": {}}
    for name, run in runs.items():
        first_clean = next((e + 1 for e, m in enumerate(run.mistakes) if m == 0), None)
        print(f"{name:5s} mistakes per epoch: {run.mistakes}")
        if first_clean is not None:
            w1, w2, b = run.weights[-1]
            print(
                f"      no mistake from epoch {first_clean} on: w = ({w1:g}, {w2:g}), b = {b:g}; "
                f"truth table {run.predictions} (expected {GATES[name]})"
            )
        else:
            moves = [tuple(w) for w in run.last_epoch]
            print(f"      never 0; [w1, w2, b] after each mistake of the last epoch: {moves}")
        result["gates"][name] = {**run._asdict(), "expected": GATES[name]}
    print("Why XOR never converges:", WHY_XOR)

    print("\nThe w0 notation: bias b vs bias=False on inputs with a 1 prepended ([w0 or b, w1, w2]):")
    for name, labels in GATES.items():
        with_bias, folded, same = w0_notation(labels, args.epochs)
        equal = torch.equal(with_bias, folded)
        print(
            f"  {name:5s} with bias {with_bias.tolist()}  folded {folded.tolist()}  "
            f"same weights: {equal}, same predictions: {same}"
        )
        result["w0_notation"][name] = {
            "with_bias": with_bias.tolist(),
            "folded": folded.tolist(),
            "same_weights": equal,
            "same_predictions": same,
        }

    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "logic_gates.png")
    plot(runs, png)
    write_json(args.out, "logic_gates.json", result)
    print("\nPlot:", png)
    return result


if __name__ == "__main__":
    main()
