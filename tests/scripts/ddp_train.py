"""Trains on the two blobs with Trainer(strategy="perceptron_ddp", devices=2) on
the CPU (gloo) and saves each rank's final weights: run by test_lightning.py."""

import os
import sys

import lightning as L
import torch

from torch_perceptron.lightning import PerceptronClassifier, TwoBlobsDataModule

out, epochs, mix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = TwoBlobsDataModule(seed=3, batch_size=16)
model = PerceptronClassifier(2, mix=mix)
trainer = L.Trainer(
    strategy="perceptron_ddp",
    accelerator="cpu",
    devices=2,
    max_epochs=epochs,
    default_root_dir=out,
    enable_progress_bar=False,
    enable_model_summary=False,
    logger=False,
    enable_checkpointing=True,
)
trainer.fit(model, data)
torch.save(
    {
        "weight": model.layer.weight,
        "bias": model.layer.bias,
        "mistakes": model.mistakes_per_epoch,
        "global_step": trainer.global_step,
    },
    os.path.join(out, f"rank{trainer.global_rank}.pt"),
)
# Both ranks have saved: take the process group down before the interpreter
# exits, as PyTorch asks. Left to exit, gloo's threads were once still joinable
# when their owner was destroyed ("terminate called without an active
# exception", SIGABRT after a finished run).
if torch.distributed.is_initialized():
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
