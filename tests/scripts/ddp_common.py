"""What the two-process scripts share: the fit with
Trainer(strategy="perceptron_ddp", devices=2) on the CPU (gloo), as quiet as
the tests' Trainer, and each rank's saved results. The scripts run with the
tests' sys.path (support.run_python), so tests/support.py imports here."""

import os

import torch

from support import quiet_trainer


def fit_on_two_ranks(model, data, out, **trainer_args):
    """Fits ``model`` on ``data`` in two CPU processes, the Trainer's root in
    ``out``; returns the Trainer."""
    trainer = quiet_trainer(out, strategy="perceptron_ddp", accelerator="cpu", devices=2, **trainer_args)
    trainer.fit(model, data)
    return trainer


def save_rank(trainer, model, out, **extra):
    """Saves this rank's final weights, mistakes per epoch and step count (and
    ``extra``) as ``out/rank<r>.pt``, then takes the process group down."""
    saved = {
        "weight": model.layer.weight,
        "bias": model.layer.bias,
        "mistakes": model.mistakes_per_epoch,
        "global_step": trainer.global_step,
    }
    torch.save({**saved, **extra}, os.path.join(out, f"rank{trainer.global_rank}.pt"))
    # Both ranks have saved: take the process group down before the interpreter
    # exits, as PyTorch asks. Left to exit, gloo's threads were once still joinable
    # when their owner was destroyed ("terminate called without an active
    # exception", SIGABRT after a finished run).
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
