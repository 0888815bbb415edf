"""Trains on the two blobs with Trainer(strategy="perceptron_ddp", devices=2) on
the CPU (gloo) and saves each rank's final weights: run by test_lightning.py."""

import sys

from ddp_common import fit_on_two_ranks, save_rank
from torch_perceptron.lightning import PerceptronClassifier, TwoBlobsDataModule

out, epochs, mix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = TwoBlobsDataModule(seed=3, batch_size=16)
model = PerceptronClassifier(2, mix=mix)
trainer = fit_on_two_ranks(model, data, out, max_epochs=epochs, enable_checkpointing=True)
save_rank(trainer, model, out)
