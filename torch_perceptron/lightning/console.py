"""What our own commands (the CLI, the examples) print around Lightning.

Each filter below drops one known line, matched by its message and the module
that emits it; every other warning and log record still shows. The other
noise is avoided at its source by the commands' Trainer settings: an explicit
CSVLogger (no tensorboardX notice), ``log_every_n_steps=1`` (the module logs
per epoch only, so no "smaller than the logging interval" warning), and
:class:`PlainProgressBar` where stdout is not a terminal.
"""

import logging
import sys
import warnings
from typing import Any

import lightning as L
from lightning.pytorch.callbacks.progress import ProgressBar


class _NoPromotionalTips(logging.Filter):
    """Lightning 2.6 logs "💡 Tip: ..." lines for its cloud products (litlogger,
    litmodels) on every fit, with no switch to turn them off."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


_TIPS_FILTER = _NoPromotionalTips()


def quiet_lightning() -> None:
    """Drops Lightning's promotional tips and the deprecation warning torch 2.13
    raises inside Lightning 2.6 (not ours to fix, nothing for a user to do).
    Idempotent."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if _TIPS_FILTER not in logger.filters:
        logger.addFilter(_TIPS_FILTER)
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )


class PlainProgressBar(ProgressBar):
    """One line per training epoch, for logs and pipes, where a tqdm bar's
    carriage returns pile up into one unreadable line:

        epoch 3/10: train_acc 0.912, val_acc 0.933
    """

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._enabled or trainer.sanity_checking:
            return
        metrics = self.get_metrics(trainer, pl_module)
        names = sorted((n for n in metrics if n != "v_num"), key=lambda n: (not n.startswith("train"), n))
        shown = ", ".join(f"{name} {_plain(metrics[name])}" for name in names)
        total = "" if trainer.max_epochs in (None, -1) else f"/{trainer.max_epochs}"
        self.print(f"epoch {trainer.current_epoch + 1}{total}: {shown}".rstrip(": "))

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self._enabled and self.trainer.is_global_zero:
            print(*args, **kwargs, flush=True)


def _plain(value: Any) -> str:
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return str(value)


def progress_bar_for(stream: Any = None) -> ProgressBar | None:
    """A :class:`PlainProgressBar` when ``stream`` (stdout by default) is not a
    terminal, else None (Lightning's own bar)."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return None if isatty is not None and isatty() else PlainProgressBar()
