"""Trains on svmlight shards with Trainer(strategy="perceptron_ddp", devices=2)
on the CPU (gloo), streamed in chunks and dealt out by rank, and saves each
rank's final weights and step count: run by test_lightning_sparse.py."""

import os
import sys

import lightning as L
import torch

from torch_perceptron.lightning import PerceptronClassifier, SvmlightDataModule

source, out, n_features, chunk_bytes, uneven = sys.argv[1:6]
data = SvmlightDataModule(source, int(n_features), batch_size=16, chunk_bytes=int(chunk_bytes), uneven=uneven)
model = PerceptronClassifier(data.in_features, data.num_classes)
trainer = L.Trainer(
    strategy="perceptron_ddp",
    accelerator="cpu",
    devices=2,
    max_epochs=2,
    default_root_dir=out,
    enable_progress_bar=False,
    enable_model_summary=False,
    logger=False,
    enable_checkpointing=False,
)
trainer.fit(model, data)
torch.save(
    {
        "weight": model.layer.weight,
        "bias": model.layer.bias,
        "mistakes": model.mistakes_per_epoch,
        "global_step": trainer.global_step,
        "own_steps": data.datasets["train"].own_steps,
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
