"""Trains on svmlight shards with Trainer(strategy="perceptron_ddp", devices=2)
on the CPU (gloo), streamed in chunks and dealt out by rank, and saves each
rank's final weights and step count: run by test_lightning_sparse.py."""

import sys

from ddp_common import fit_on_two_ranks, save_rank
from torch_perceptron.lightning import PerceptronClassifier, SvmlightDataModule

source, out, n_features, chunk_bytes, uneven = sys.argv[1:6]
data = SvmlightDataModule(source, int(n_features), batch_size=16, chunk_bytes=int(chunk_bytes), uneven=uneven)
model = PerceptronClassifier(data.in_features, data.num_classes)
trainer = fit_on_two_ranks(model, data, out, max_epochs=2)
save_rank(trainer, model, out, own_steps=data.datasets["train"].own_steps)
