"""The seed experiment, watched: the decision boundary redrawn after every mistake.

The lecture note's data (two uniform blobs, the fixed shuffled 300/100 split of
torch_perceptron.datasets.seed_split, standardized with training statistics)
and its rule (5 epochs, one sample after the other, from zero weights). Each
epoch is one PerceptronLayer.update_traced call, which returns the weights and
bias after every mistake (torch_perceptron.trace): the Python loop of the
example runs over frames, never over samples.

Frame 0 is the start (w = 0: no boundary yet); frame k is the state right
after the k-th mistake, with the sample that caused it circled. Left: the
training set, the boundary and the weight vector w drawn from the boundary
(it points to the side predicted as class 1). Right: the path of w in weight
space, the bias beside it.

Writes --out/learning_animation.gif (matplotlib's PillowWriter), a still of
its last frame as --out/learning_animation.png, and --out/learning_animation.json
(mistakes, frames, final weights, test accuracy).

    python examples/learning_animation.py [--epochs 5] [--fps 10] [--out outputs]
"""

import os
from typing import NamedTuple, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.animation import PillowWriter  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from torch import Tensor  # noqa: E402

from _common import save, script_parser, write_json  # noqa: E402
from torch_perceptron import PerceptronLayer  # noqa: E402
from torch_perceptron.datasets import seed_split  # noqa: E402

LIMIT = 3.0  # the note's plots show [-3, 3] x [-3, 3]


class Frame(NamedTuple):
    epoch: int  # 1-based; 0 for the start
    sample: int  # position in the training set of the mistake; -1 for the start
    weight: Tensor  # [2]
    bias: float


def record(layer: PerceptronLayer, x: Tensor, y: Tensor, epochs: int) -> tuple[list[Frame], list[int]]:
    """Trains ``layer`` for ``epochs`` epochs; returns a frame per mistake
    (after the start frame) and the mistakes per epoch."""
    frames = [Frame(0, -1, layer.weight[0].clone(), float(layer.bias[0]))]
    per_epoch = []
    for epoch in range(1, epochs + 1):
        trace = layer.update_traced(x, y)
        per_epoch.append(int(trace.mistakes))
        frames += [Frame(epoch, int(i), w[0], float(b[0])) for i, w, b in zip(trace.index, trace.weight, trace.bias)]
    return frames, per_epoch


def boundary(w: Tensor, b: float) -> tuple[list[float], list[float]]:
    """Two points of the line w . x + b = 0 across the plot, or none."""
    w1, w2 = float(w[0]), float(w[1])
    if abs(w2) >= abs(w1) and w2 != 0:
        xs = [-LIMIT, LIMIT]
        return xs, [-(w1 * v + b) / w2 for v in xs]
    if w1 != 0:
        ys = [-LIMIT, LIMIT]
        return [-(w2 * v + b) / w1 for v in ys], ys
    return [], []


def square(ax, reach: float, ticks, xlabel: str, ylabel: str) -> None:
    """Axes over [-reach, reach] both ways, equal in scale, the same ticks on both."""
    ax.set(
        xlim=(-reach, reach),
        ylim=(-reach, reach),
        xlabel=xlabel,
        ylabel=ylabel,
        aspect="equal",
        xticks=ticks,
        yticks=ticks,
    )


def build(frames: list[Frame], x: Tensor, y: Tensor):
    """The figure and a function that draws frame k into it."""
    fig, (ax, wax) = plt.subplots(1, 2, figsize=(7.0, 3.5))
    for label, marker, color in [(0, "o", "tab:blue"), (1, "s", "tab:orange")]:
        pts = x[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=10, c=color, label=f"class {label}", linewidths=0)
    # Fixed ticks and title positions spare every frame a layout pass.
    square(ax, LIMIT, [-2, 0, 2], "feature 1", "feature 2")
    (line,) = ax.plot([], [], "k-", lw=1.5, label="boundary")
    (ring,) = ax.plot([], [], "o", ms=10, mfc="none", mec="red", mew=2, label="mistake")
    arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 2})
    ax.legend(loc="lower right", fontsize=7, handletextpad=0.2, borderpad=0.3, framealpha=1)
    title = ax.set_title("", fontsize=9, y=1.01)

    ws = torch.stack([f.weight for f in frames])
    reach = float(ws.abs().max()) * 1.15 or 1.0
    wticks = [t for t in MaxNLocator(4, symmetric=True).tick_values(-reach, reach) if abs(t) <= reach]
    square(wax, reach, wticks, "$w_1$", "$w_2$")
    wax.set_title("the weight vector w", fontsize=9, y=1.01)
    wax.axhline(0, color="0.8", lw=1)
    wax.axvline(0, color="0.8", lw=1)
    (path,) = wax.plot([], [], "-", color="0.6", lw=1)
    w_arrow = wax.annotate("", xy=(0, 0), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 2})
    w_text = wax.text(0.03, 0.97, "", transform=wax.transAxes, va="top", fontsize=8, family="monospace")
    fig.tight_layout()
    # Lay out once: a figure that keeps a layout engine lays out every frame.
    fig.set_layout_engine(None)

    def draw(k: int) -> None:
        f = frames[k]
        w1, w2 = float(f.weight[0]), float(f.weight[1])
        line.set_data(*boundary(f.weight, f.bias))
        if f.sample >= 0:
            ring.set_data([float(x[f.sample, 0])], [float(x[f.sample, 1])])
            title.set_text(
                f"epoch {f.epoch}, mistake {k} of {len(frames) - 1} (sample {f.sample}, class {int(y[f.sample])})"
            )
        else:
            ring.set_data([], [])
            title.set_text(f"start: w = 0, b = 0, no boundary ({len(frames) - 1} mistakes ahead)")
        # w from the point of the boundary nearest the origin, normal to it.
        norm2 = w1 * w1 + w2 * w2
        foot = (-f.bias * w1 / norm2, -f.bias * w2 / norm2) if norm2 > 0 else (0.0, 0.0)
        scale = 1.0 / max(1.0, norm2**0.5)  # the direction matters, not the length
        arrow.xy = (foot[0] + w1 * scale, foot[1] + w2 * scale)
        arrow.set_position(foot)
        arrow.set_visible(norm2 > 0)
        path.set_data(ws[: k + 1, 0].tolist(), ws[: k + 1, 1].tolist())
        w_arrow.xy = (w1, w2)
        w_arrow.set_visible(norm2 > 0)
        w_text.set_text(f"w = ({w1:+.3f}, {w2:+.3f})\nb = {f.bias:+.3f}")

    return fig, draw


# Without antialiasing a frame has a few flat colours, under GIF's 256: Pillow
# then keeps a palette entry for "unchanged since the last frame", and a frame
# costs about what moved in it, which keeps the GIF small enough for README.
CRISP = {"lines.antialiased": False, "patch.antialiased": False, "text.antialiased": False}


def animate(frames: list[Frame], x: Tensor, y: Tensor, gif: str, png: str, fps: int, dpi: int) -> None:
    with plt.rc_context(CRISP):
        fig, draw = build(frames, x, y)
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, gif, dpi=dpi):
            for k in range(len(frames)):
                draw(k)
                writer.grab_frame()
        plt.close(fig)
    # The still, antialiased.
    fig, draw = build(frames, x, y)
    draw(len(frames) - 1)
    save(fig, png, layout=False)


def main(argv: Optional[list[str]] = None) -> dict:
    parser = script_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--dpi", type=int, default=64, help="GIF resolution (size grows with it)")
    parser.add_argument("--quick", action="store_true", help="one epoch (tests)")
    parser.add_argument("--out", default="outputs")
    args = parser.parse_args(argv)
    epochs = 1 if args.quick else args.epochs

    data = seed_split(args.seed)
    layer = PerceptronLayer(2)
    frames, per_epoch = record(layer, data.x_train, data.y_train, epochs)
    accuracy = float((layer(data.x_test)[:, 0] == data.y_test).float().mean())
    print(f"Mistakes per epoch: {per_epoch} ({sum(per_epoch)} frames after the start)")
    print(f"Final weights: {layer.weight[0].tolist()}, bias: {float(layer.bias[0])}")
    print(f"Test set accuracy: {accuracy * 100:.2f}%")

    os.makedirs(args.out, exist_ok=True)
    gif = os.path.join(args.out, "learning_animation.gif")
    png = os.path.join(args.out, "learning_animation.png")
    animate(frames, data.x_train, data.y_train, gif, png, args.fps, args.dpi)
    print(
        f"Animation: {gif} ({os.path.getsize(gif) / 1024:.0f} KB, {len(frames)} frames), "
        f"last frame: {png} ({os.path.getsize(png) / 1024:.0f} KB)"
    )
    result = {
        "epochs": epochs,
        "seed": args.seed,
        "mistakes_per_epoch": per_epoch,
        "frames": len(frames),
        "final_trace_weight": frames[-1].weight.tolist(),
        "final_trace_bias": frames[-1].bias,
        "layer_weight": layer.weight[0].tolist(),
        "layer_bias": float(layer.bias[0]),
        "test_accuracy": accuracy,
        "gif_bytes": os.path.getsize(gif),
    }
    write_json(args.out, "learning_animation.json", result)
    return result


if __name__ == "__main__":
    main()
