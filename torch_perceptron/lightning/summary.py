"""A model summary that counts the perceptron's weights.

Lightning's ModelSummary counts parameters, and a PerceptronLayer has none: its
weight and bias are buffers (no optimizer may touch them), so the stock table
says "0 Total params" for any model. This one counts, per submodule, the
parameters plus the weight and bias of every PerceptronLayer inside it, and
sizes the model by everything it saves (parameters and buffers).
"""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.utilities import rank_zero_info
from torch import nn

from ..layer import PerceptronLayer


def count_weights(module: nn.Module) -> int:
    """Parameters plus the weight and bias of the PerceptronLayers in ``module``
    (not the averaged or pocket state beside them: it is training state)."""
    params = sum(p.numel() for p in module.parameters())
    perceptrons = sum(m.weight.numel() + m.bias.numel() for m in module.modules() if isinstance(m, PerceptronLayer))
    return params + perceptrons


def state_megabytes(module: nn.Module) -> float:
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors) / 1e6


def format_summary(model: nn.Module, max_depth: int = 1) -> str:
    """The summary table: one row per submodule down to ``max_depth``."""
    rows = [
        (name, type(m).__name__, f"{count_weights(m):,}", "train" if m.training else "eval")
        for name, m in model.named_modules()
        if name and name.count(".") < max_depth
    ]
    header = ("Name", "Type", "Weights", "Mode")
    widths = [max(len(str(i)) for i in range(len(rows))) if rows else 1]
    widths += [max([len(h)] + [len(r[c]) for r in rows]) for c, h in enumerate(header)]
    lines = [" | ".join(f"{h:<{w}}" for h, w in zip(("", *header), widths)).rstrip()]
    rule = "-" * max(len(lines[0]), sum(widths) + 3 * len(header))
    lines.append(rule)
    for i, row in enumerate(rows):
        lines.append(" | ".join(f"{v:<{w}}" for v, w in zip((str(i), *row), widths)).rstrip())
    lines.append(rule)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += [
        f"{count_weights(model):<10,}Weights (buffers, learned by the perceptron rule)",
        f"{trainable:<10,}Trainable params (learned by an optimizer)",
        f"{state_megabytes(model):<10.3f}Total estimated model size (MB)",
    ]
    return "\n".join(lines)


class PerceptronSummary(ModelSummary):
    """ModelSummary that counts the weights a perceptron keeps in buffers.

    :class:`~torch_perceptron.lightning.PerceptronClassifier` puts it in place
    of Lightning's default summary; pass it yourself as
    ``Trainer(callbacks=[PerceptronSummary()])`` for a model of your own.
    """

    def __init__(self, max_depth: int = 1, **summarize_kwargs: Any) -> None:
        super().__init__(max_depth, **summarize_kwargs)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._max_depth:
            # Where Lightning's own summary goes (its logger, rank zero only).
            rank_zero_info("\n" + format_summary(pl_module, self._max_depth))
