"""PerceptronClassifier: the perceptron rule driven by Lightning's Trainer."""

import warnings
from typing import Any, Literal

import lightning as L
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import ModelSummary
from torch import Tensor
from torchmetrics.classification import Accuracy

from ..layer import PerceptronLayer
from .console import quiet_lightning
from .summary import PerceptronSummary

# Having no optimizer is the design, not an oversight worth a warning per fit.
warnings.filterwarnings("ignore", message=r".*`LightningModule.configure_optimizers` returned `None`")
# The Python API as quiet as the command line: Lightning's promotional tips and
# a deprecation inside Lightning are nothing a user can act on.
quiet_lightning()

Rule = Literal["online", "multiclass", "batch"]
Mix = Literal["average", "mistakes"]


class PerceptronClassifier(L.LightningModule):
    """A classifier trained by the perceptron rule under Lightning's Trainer.

    There is no optimizer and no backward pass (``automatic_optimization`` is
    off): ``training_step`` applies the rule to the batch in place through a
    :class:`~torch_perceptron.PerceptronLayer`. Batches are ``(x [B, in_features]
    float, y [B] int64 class index)``; ``x`` may be sparse (a
    :class:`~torch_perceptron.sparse.CSRRows`, as the sparse data modules hand
    out, or a torch sparse tensor), and an empty batch (``B = 0``, how the
    streamed svmlight module pads a rank's epoch) is a step that changes nothing.

    Args:
        in_features: features per sample.
        num_classes: 2 for a binary perceptron (one output); more classes are
            one-vs-rest (``rule="online"`` or ``"batch"``) or the multiclass
            perceptron (``rule="multiclass"``).
        rule: "online" (the textbook rule, one sample after the other),
            "multiclass" (argmax over classes) or "batch" (mini-batch rule).
        lr: learning rate of the rule.
        average: predict with the averaged weights (online and multiclass rules).
        pocket: predict with the pocket weights (online and multiclass rules).
        mix: how data-parallel ranks mix their weights at the end of each
            epoch: a plain "average", or weighted by each rank's "mistakes"
            (iterative parameter mixing, McDonald, Hall & Mann 2010).
        stop_when_separated: stop training after an epoch without a mistake.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int = 2,
        *,
        rule: Rule = "online",
        lr: float = 1.0,
        average: bool = False,
        pocket: bool = False,
        mix: Mix = "average",
        stop_when_separated: bool = False,
    ) -> None:
        super().__init__()
        if rule not in ("online", "multiclass", "batch"):
            raise ValueError(f"rule: expected 'online', 'multiclass' or 'batch', got {rule!r}")
        if num_classes < 2:
            raise ValueError(f"num_classes: expected >= 2, got {num_classes}")
        if mix not in ("average", "mistakes"):
            raise ValueError(f"mix: expected 'average' or 'mistakes', got {mix!r}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.binary = num_classes == 2 and rule != "multiclass"
        self.layer = PerceptronLayer(
            in_features,
            1 if self.binary else num_classes,
            multiclass=rule == "multiclass",
            lr=lr,
            average=average,
            pocket=pocket,
        )
        self.train_acc, self.val_acc, self.test_acc = (self._accuracy() for _ in range(3))
        self.mistakes_per_epoch: list[int] = []
        self._epoch_mistakes = 0
        self._epoch_closed = False

    def _accuracy(self) -> Accuracy:
        if self.binary:
            return Accuracy(task="binary")
        return Accuracy(task="multiclass", num_classes=self.hparams.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Predicted class indices ``[B]`` (int64)."""
        if self.binary:
            return self.layer(x)[:, 0].long()
        if self.hparams.rule == "multiclass":
            return self.layer(x)
        return self.layer.decision_function(x).argmax(1)

    def _check_labels(self, y: Tensor) -> None:
        """Class indices in ``[0, num_classes)``, checked here so that an error
        names ``num_classes``: torchmetrics' own check, which the accuracy
        would otherwise meet first, does not."""
        k = self.hparams.num_classes
        bad = (y < 0) | (y >= k)
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0, 0])
            raise ValueError(
                f"y: expected class indices in [0, {k}) (the model's num_classes={k}), "
                f"found {int(y[i])} at position {i} of the batch; build the model with "
                "num_classes at least one more than the largest class index"
            )

    def _targets(self, y: Tensor) -> Tensor:
        if self.binary or self.hparams.rule == "multiclass":
            return y
        return torch.nn.functional.one_hot(y, self.hparams.num_classes)

    def _count_step(self) -> None:
        # No optimizer steps here, and Lightning counts global_step in optimizer
        # steps: without this, ModelCheckpoint never saves and step-based
        # logging stalls. One rule application is one step.
        progress = self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        progress.increment_ready()
        progress.increment_completed()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        mistakes = 0
        if len(y):
            self._check_labels(y)
            # Online accuracy: the predictions the batch gets before it updates.
            self.train_acc(self(x), y)
            rule = "batch" if self.hparams.rule == "batch" else "online"
            mistakes = int(self.layer.update(x, self._targets(y), rule=rule).sum())
        self._epoch_mistakes += mistakes
        self._count_step()
        self.log(
            "train_mistakes",
            float(mistakes),
            on_step=False,
            on_epoch=True,
            reduce_fx="sum",
            sync_dist=True,
            batch_size=max(1, len(y)),
        )
        self.log("train_acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        if batch_idx + 1 == self.trainer.num_training_batches:
            self._close_epoch()

    def on_train_epoch_start(self) -> None:
        self._epoch_closed = False

    def on_train_epoch_end(self) -> None:
        # Reached only when the epoch's length was not known in advance.
        if not self._epoch_closed:
            self._close_epoch()

    def _close_epoch(self) -> None:
        """Mixes the ranks' weights and records the epoch's mistakes. Called on
        the epoch's last training batch: Lightning validates, and ModelCheckpoint
        saves, before on_train_epoch_end, and both must see the mixed model."""
        self._epoch_closed = True
        mistakes = torch.tensor(float(self._epoch_mistakes))
        self._epoch_mistakes = 0
        if self._distributed():
            self._mix(mistakes)
            dist.all_reduce(mistakes)
        self.mistakes_per_epoch.append(int(mistakes))
        if self.hparams.stop_when_separated and int(mistakes) == 0:
            self.trainer.should_stop = True

    def _distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1

    @torch.no_grad()
    def _mix(self, mistakes: Tensor) -> None:
        """Mixes the floating-point state of the layer across ranks, so every
        rank holds the same model (and a checkpoint is the mixed model)."""
        world = dist.get_world_size()
        share = torch.tensor(1.0 / world, dtype=torch.float64)
        if self.hparams.mix == "mistakes":
            total = mistakes.clone()
            dist.all_reduce(total)
            if total > 0:
                share = (mistakes / total).to(torch.float64)
        for buf in self.layer.buffers():
            if buf.is_floating_point():
                mixed = buf.to(torch.float64) * share.to(buf.device)
                dist.all_reduce(mixed)
                buf.copy_(mixed)
            else:
                dist.all_reduce(buf, op=dist.ReduceOp.MAX)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        if len(y):
            self._check_labels(y)
            self.val_acc(self(x), y)
        self.log("val_acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        if len(y):
            self._check_labels(y)
            self.test_acc(self(x), y)
        self.log("test_acc", self.test_acc, on_step=False, on_epoch=True)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self(x)

    def configure_optimizers(self) -> None:
        return None

    def configure_callbacks(self) -> list[L.Callback]:
        """Puts :class:`PerceptronSummary` in place of Lightning's default model
        summary, which counts parameters only and so would show this model,
        whose weights are buffers, as "0 Total params"."""
        stock = [cb for cb in self.trainer.callbacks if type(cb) is ModelSummary]
        if not stock or self.trainer.state.fn != "fit":
            return []
        return [PerceptronSummary(max_depth=stock[0]._max_depth)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["mistakes_per_epoch"] = list(self.mistakes_per_epoch)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.mistakes_per_epoch = list(checkpoint.get("mistakes_per_epoch", []))
