"""Sparse features through Lightning: real Trainer runs on CSR batches held in
memory (SparseDataModule) and streamed from svmlight files (SvmlightDataModule),
one process and two (gloo, perceptron_ddp), each equal to the same rule applied
by hand to the same batches; and the command line's fit on svmlight files."""

import os

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import dump_svmlight_file, load_digits
from torch.utils.data.distributed import DistributedSampler

from support import quiet_trainer, run_python
from torch_perceptron import PerceptronLayer
from torch_perceptron.cli import main
from torch_perceptron.lightning import PerceptronClassifier, SparseDataModule, SvmlightDataModule
from torch_perceptron.lightning.sparse_data import count_rows, scan_labels
from torch_perceptron.sparse_batches import take_rows
from torch_perceptron.svmlight import SvmlightChunks, plan

HERE = os.path.dirname(__file__)
N_FEATURES = 200


def trainer(tmp_path, epochs=2, **kw):
    return quiet_trainer(tmp_path, max_epochs=epochs, accelerator="cpu", devices=1, **kw)


def write_shards(directory, sizes, seed=0, k=2):
    """svmlight shards of ``sizes`` rows: sparse rows of a linear teacher's
    classes (labels -1/+1 for two classes, 1..k for more, as LIBSVM's data sets
    label them), with a comment line and a blank line thrown in."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    teacher = rng.normal(size=(N_FEATURES, k))
    for i, n in enumerate(sizes):
        x = sp.random(n, N_FEATURES, density=0.05, format="csr", random_state=rng)
        x.data = np.round(rng.normal(size=x.nnz) * 8) / 8
        x.eliminate_zeros()
        z = np.asarray(x @ teacher)
        y = np.where(z[:, 0] > z[:, 1], 1, -1) if k == 2 else z.argmax(1) + 1
        path = os.path.join(directory, f"part{i}.svm")
        dump_svmlight_file(x, y, path, zero_based=True)
        with open(path, "ab") as f:
            f.write(b"\n# a comment line, skipped\n")
    return directory


def test_sparse_data_module_trains_on_csr_batches_like_a_hand_loop(tmp_path):
    x, y = load_digits(return_X_y=True)
    data = SparseDataModule(sp.csr_matrix(x), torch.from_numpy(y), batch_size=32, seed=1)
    assert (data.in_features, data.num_classes) == (64, 10)
    model = PerceptronClassifier(64, 10, rule="multiclass")
    run = trainer(tmp_path)
    run.fit(model, data)
    assert run.global_step == 2 * -(-len(data.train_set) // 32)
    assert float(run.callback_metrics["val_acc"]) > 0.85
    assert run.test(model, data, verbose=False)[0]["test_acc"] > 0.85
    # The same batches by hand: the sampler's order, one update per batch.
    layer = PerceptronLayer(64, 10, multiclass=True)
    for epoch in range(2):
        sampler = DistributedSampler(data.train_set, num_replicas=1, rank=0, shuffle=True, seed=1)
        sampler.set_epoch(epoch)
        for batch in torch.tensor(list(sampler)).split(32):
            layer.update(take_rows(data.train_set.x, batch), data.train_set.y[batch])
    assert torch.equal(model.layer.weight, layer.weight)
    assert torch.equal(model.layer.bias, layer.bias)


def hand_batches(source, chunk_bytes, rank, world, batch_size, classes):
    out = []
    for chunk in SvmlightChunks(source, N_FEATURES, chunk_bytes, rank=rank, world_size=world):
        y = torch.from_numpy(np.searchsorted(classes, chunk.y.numpy()))
        for s in range(0, len(chunk), batch_size):
            out.append((chunk.x.rows(s, min(s + batch_size, len(chunk))), y[s : s + batch_size]))
    return out


@pytest.mark.parametrize("k", [2, 4])
def test_svmlight_module_streams_shards_like_a_hand_loop(tmp_path, k):
    source = write_shards(tmp_path / "shards", [150, 90, 60], k=k)
    val = write_shards(tmp_path / "val", [100], seed=1, k=k)
    data = SvmlightDataModule(str(source), N_FEATURES, val=str(val), batch_size=16, chunk_bytes=3000)
    classes = [-1.0, 1.0] if k == 2 else [1.0, 2.0, 3.0, 4.0]
    assert data.classes == classes and data.num_classes == k
    model = PerceptronClassifier(N_FEATURES, k)
    run = trainer(tmp_path)
    run.fit(model, data)
    batches = hand_batches(str(source), 3000, 0, 1, 16, classes)
    assert sum(len(y) for _, y in batches) == 300
    assert run.global_step == 2 * len(batches)
    assert "val_acc" in run.callback_metrics
    layer = PerceptronLayer(N_FEATURES, 1 if k == 2 else k)
    for _ in range(2):
        for x, y in batches:
            layer.update(x, y if k == 2 else torch.nn.functional.one_hot(y, k))
    assert torch.equal(model.layer.weight, layer.weight)
    assert torch.equal(model.layer.bias, layer.bias)


def test_row_counts_and_labels_come_without_parsing(tmp_path):
    source = write_shards(tmp_path / "shards", [40, 33], k=3)
    for path in sorted(os.listdir(source)):
        full = os.path.join(source, path)
        spans = plan([full], 500)
        got = [count_rows(span) for span in spans]
        want = [len(c) for c in SvmlightChunks(full, N_FEATURES, 500)]
        assert got == want and sum(got) in (40, 33)
    assert scan_labels([os.path.join(source, p) for p in sorted(os.listdir(source))]) == [1.0, 2.0, 3.0]


def test_svmlight_module_rejects_unknown_labels_and_bad_arguments(tmp_path):
    source = write_shards(tmp_path / "shards", [30], k=3)
    data = SvmlightDataModule(str(source), N_FEATURES, classes=[1, 2], batch_size=8)
    with pytest.raises(ValueError, match=r"part0.svm: label 3.0 is not one of the classes"):
        trainer(tmp_path, 1).fit(PerceptronClassifier(N_FEATURES, 2), data)
    with pytest.raises(FileNotFoundError, match="val: no file or directory"):
        SvmlightDataModule(str(source), N_FEATURES, val=str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="train: no file or directory"):
        SvmlightDataModule(str(tmp_path / "missing"), N_FEATURES)
    with pytest.raises(ValueError, match="uneven"):
        SvmlightDataModule(str(source), N_FEATURES, uneven="wrap")


@pytest.mark.parametrize("uneven", ["pad", "drop"])
def test_two_process_ddp_on_svmlight_shards(tmp_path, uneven):
    # Three shards of unequal sizes, cut into small chunks: the two ranks get
    # different numbers of batches, which pad or drop make equal.
    source = str(write_shards(tmp_path / "shards", [130, 40, 75]))
    chunk_bytes = 2500
    script = os.path.join(HERE, "scripts", "ddp_svmlight.py")
    run_python([script, source, str(tmp_path), str(N_FEATURES), str(chunk_bytes), uneven], tmp_path)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(r0["weight"], r1["weight"]) and torch.equal(r0["bias"], r1["bias"])
    assert r0["mistakes"] == r1["mistakes"]
    shares = [hand_batches(source, chunk_bytes, r, 2, 16, [-1.0, 1.0]) for r in (0, 1)]
    assert [r0["own_steps"], r1["own_steps"]] == [len(s) for s in shares]
    assert len(shares[0]) != len(shares[1])
    steps = max(map(len, shares)) if uneven == "pad" else min(map(len, shares))
    assert r0["global_step"] == r1["global_step"] == 2 * steps
    # The same shares and mixing, by hand in one process.
    layers = [PerceptronLayer(N_FEATURES), PerceptronLayer(N_FEATURES)]
    totals = []
    for _ in range(2):
        counts = [sum(int(layer.update(x, y).sum()) for x, y in share[:steps]) for layer, share in zip(layers, shares)]
        w = sum(0.5 * layer.weight.double() for layer in layers)
        b = sum(0.5 * layer.bias.double() for layer in layers)
        for layer in layers:
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        totals.append(sum(counts))
    assert r0["mistakes"] == totals
    assert torch.allclose(r0["weight"], layers[0].weight, atol=1e-6)
    assert torch.allclose(r0["bias"], layers[0].bias, atol=1e-6)


def test_cli_fits_on_svmlight_files(tmp_path, capsys):
    source = write_shards(tmp_path / "shards", [120, 80], k=3)
    val = write_shards(tmp_path / "val", [60], seed=2, k=3)
    status = main(
        [
            "fit",
            "--data",
            "SvmlightDataModule",
            "--data.train",
            str(source),
            "--data.n_features",
            str(N_FEATURES),
            "--data.val",
            str(val),
            "--data.batch_size",
            "32",
            "--model.rule",
            "multiclass",
            "--trainer.max_epochs",
            "3",
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.enable_progress_bar",
            "false",
        ]
    )
    out = capsys.readouterr()
    assert status == 0, out.err[-2000:]
    assert "Validation accuracy:" in out.out
    assert (
        main(["fit", "--data", "SvmlightDataModule", "--data.train", str(tmp_path / "none"), "--data.n_features", "5"])
        == 2
    )
    assert "--data.train: no file or directory" in capsys.readouterr().err
