"""PerceptronClassifier, the data modules and the perceptron_ddp strategy with
the real Lightning Trainer."""

import glob
import os
import subprocess
import sys

import lightning as L
import pytest
import torch
from torch.utils.data.distributed import DistributedSampler

from torch_perceptron import PerceptronLayer
from torch_perceptron.lightning import (
    CSVDataModule,
    PerceptronClassifier,
    SklearnDataModule,
    TwoBlobsDataModule,
)

HERE = os.path.dirname(__file__)


def trainer(tmp_path, **kwargs) -> L.Trainer:
    kwargs.setdefault("logger", False)
    return L.Trainer(
        accelerator="cpu", devices=1, default_root_dir=tmp_path, enable_progress_bar=False,
        enable_model_summary=False, **kwargs,
    )


def manual_epochs(data, layer, epochs, target=lambda y: y, shards=1, rank=0):
    """The rule applied by hand in the order the data module's sampler gives."""
    mistakes = []
    for epoch in range(epochs):
        sampler = DistributedSampler(data.train_set, num_replicas=shards, rank=rank, shuffle=True,
                                     seed=data.seed)
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        x, y = data.train_set.tensors
        total = 0
        for batch in order.split(data.batch_size):
            total += int(layer.update(x[batch], target(y[batch])).sum())
        mistakes.append(total)
    return mistakes


def test_fit_equals_the_rule_by_hand_and_counts_steps(tmp_path):
    data = TwoBlobsDataModule(seed=1, batch_size=16)
    model = PerceptronClassifier(2)
    t = trainer(tmp_path, max_epochs=3, enable_checkpointing=True)
    t.fit(model, data)
    layer = PerceptronLayer(2)
    expected = manual_epochs(data, layer, 3)
    assert torch.equal(model.layer.weight, layer.weight)
    assert torch.equal(model.layer.bias, layer.bias)
    assert model.mistakes_per_epoch == expected
    batches = -(-len(data.train_set) // 16)
    assert t.global_step == 3 * batches
    # The steps count, so ModelCheckpoint writes a real file.
    ckpts = glob.glob(str(tmp_path / "**" / "*.ckpt"), recursive=True)
    assert len(ckpts) == 1 and f"step={3 * batches}" in ckpts[0]


def test_train_accuracy_uses_predictions_before_each_update(tmp_path):
    data = TwoBlobsDataModule(seed=2, batch_size=300)  # one batch per epoch
    model = PerceptronClassifier(2)
    trainer(tmp_path, max_epochs=2).fit(model, data)
    layer = PerceptronLayer(2)
    manual_epochs(data, layer, 1)  # after epoch 1: the weights epoch 2 predicts with
    x, y = data.train_set.tensors
    expected = (layer(x)[:, 0].long() == y).float().mean()
    assert model.trainer.callback_metrics["train_acc"] == pytest.approx(float(expected), abs=1e-6)


def test_validate_test_predict(tmp_path):
    data = TwoBlobsDataModule(seed=0, val_fraction=0.1, batch_size=32)
    model = PerceptronClassifier(2)
    t = trainer(tmp_path, max_epochs=5)
    t.fit(model, data)
    val = t.validate(model, data, verbose=False)[0]["val_acc"]
    test = t.test(model, data, verbose=False)[0]["test_acc"]
    preds = torch.cat(t.predict(model, data))
    x, y = data.test_set.tensors
    assert torch.equal(preds, model.layer(x)[:, 0].long())
    assert test == pytest.approx(float((preds == y).float().mean()), abs=1e-6)
    assert test > 0.65 and val > 0.65  # well above chance; the last iterate is noisy


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    data = TwoBlobsDataModule(seed=4, batch_size=8)
    full = PerceptronClassifier(2)
    trainer(tmp_path / "full", max_epochs=4).fit(full, data)

    first = PerceptronClassifier(2)
    trainer(tmp_path / "part", max_epochs=2, enable_checkpointing=True).fit(first, data)
    ckpt = glob.glob(str(tmp_path / "part" / "**" / "*.ckpt"), recursive=True)[0]
    resumed = PerceptronClassifier(2)
    t = trainer(tmp_path / "part", max_epochs=4)
    t.fit(resumed, data, ckpt_path=ckpt)
    assert torch.equal(resumed.layer.weight, full.layer.weight)
    assert torch.equal(resumed.layer.bias, full.layer.bias)
    assert resumed.mistakes_per_epoch == full.mistakes_per_epoch
    assert t.global_step == 4 * (-(-300 // 8))


def test_multiclass_and_one_vs_rest_on_digits(tmp_path):
    data = SklearnDataModule("digits", batch_size=64)
    accs = {}
    for rule in ("multiclass", "online", "batch"):
        model = PerceptronClassifier(data.in_features, data.num_classes, rule=rule)
        t = trainer(tmp_path, max_epochs=5)
        t.fit(model, data)
        accs[rule] = t.test(model, data, verbose=False)[0]["test_acc"]
    assert accs["multiclass"] > 0.9 and accs["online"] > 0.85 and accs["batch"] > 0.8, accs


def test_one_vs_rest_equals_the_rule_by_hand(tmp_path):
    data = SklearnDataModule("iris", batch_size=16)
    model = PerceptronClassifier(data.in_features, data.num_classes)
    trainer(tmp_path, max_epochs=3).fit(model, data)
    layer = PerceptronLayer(4, 3)
    manual_epochs(data, layer, 3, target=lambda y: torch.nn.functional.one_hot(y, 3))
    assert torch.equal(model.layer.weight, layer.weight)


def test_stop_when_separated(tmp_path):
    x = torch.tensor([[-2.0, 0.0], [-1.0, 0.5], [1.0, 0.0], [2.0, -0.5]]).repeat(20, 1)
    x = x + 0.01 * torch.arange(80).unsqueeze(1)
    y = (x[:, 0] > 0).long()
    from torch_perceptron.lightning import TensorDataModule

    data = TensorDataModule(x, y, batch_size=10)
    model = PerceptronClassifier(2, stop_when_separated=True)
    trainer(tmp_path, max_epochs=50).fit(model, data)
    assert model.mistakes_per_epoch[-1] == 0
    assert len(model.mistakes_per_epoch) < 50


def test_data_modules_split_without_overlap_and_standardize():
    for data in (TwoBlobsDataModule(val_fraction=0.1), SklearnDataModule("breast_cancer", val_fraction=0.1)):
        sets = [data.train_set.tensors[0], data.val_set.tensors[0], data.test_set.tensors[0]]
        n = sum(len(s) for s in sets)
        assert len(torch.unique(torch.cat(sets), dim=0)) == n
        assert torch.allclose(sets[0].mean(0), torch.zeros(sets[0].shape[1]), atol=1e-4)
        assert torch.allclose(sets[0].std(0), torch.ones(sets[0].shape[1]), atol=1e-4)
    iris = SklearnDataModule("iris")
    assert torch.bincount(iris.test_set.tensors[1]).tolist() == [12, 12, 12]  # stratified
    assert (iris.in_features, iris.num_classes) == (4, 3)


def test_csv_data_module(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n1,1,cat\n2,2,dog\n3,3,cat\n4,4,dog\n")
    data = CSVDataModule(str(path), "label", test_fraction=0.25)
    assert data.classes == ["cat", "dog"] and data.in_features == 2 and data.num_classes == 2
    with pytest.raises(FileNotFoundError, match="path"):
        CSVDataModule(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="label_column.*'target'"):
        CSVDataModule(str(path), "target")
    with pytest.raises(ValueError, match=r"feature_columns.*\['c'\]"):
        CSVDataModule(str(path), "label", feature_columns=["a", "c"])
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,x,1\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: column 'b': expected a number, got 'x'"):
        CSVDataModule(str(bad))


def test_importing_the_package_registers_the_strategy():
    from lightning.pytorch.strategies import StrategyRegistry

    assert "perceptron_ddp" in StrategyRegistry


@pytest.mark.parametrize("mix", ["average", "mistakes"])
def test_two_process_ddp_mixes_weights(tmp_path, mix):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, os.path.join(HERE, "scripts", "ddp_train.py"), str(tmp_path), "2", mix],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(r0["weight"], r1["weight"]) and torch.equal(r0["bias"], r1["bias"])
    assert r0["mistakes"] == r1["mistakes"]
    # The checkpoint holds the mixed model (saved after validation, which
    # comes before on_train_epoch_end).
    ckpt = glob.glob(str(tmp_path / "**" / "*.ckpt"), recursive=True)
    assert len(ckpt) == 1
    saved = torch.load(ckpt[0], weights_only=False)["state_dict"]
    assert torch.equal(saved["layer.weight"], r0["weight"])
    # The same shards and mixing, by hand in one process.
    data = TwoBlobsDataModule(seed=3, batch_size=16, val_fraction=0.1)
    layers = [PerceptronLayer(2), PerceptronLayer(2)]
    totals = []
    for epoch in range(2):
        counts = []
        for rank, layer in enumerate(layers):
            sampler = DistributedSampler(data.train_set, num_replicas=2, rank=rank, shuffle=True, seed=3)
            sampler.set_epoch(epoch)
            order = torch.tensor(list(sampler))
            x, y = data.train_set.tensors
            counts.append(sum(int(layer.update(x[b], y[b]).sum()) for b in order.split(16)))
        total = sum(counts)
        share = [c / total for c in counts] if mix == "mistakes" and total else [0.5, 0.5]
        w = sum(s * l.weight.double() for s, l in zip(share, layers))
        b = sum(s * l.bias.double() for s, l in zip(share, layers))
        for layer in layers:
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        totals.append(total)
    assert r0["mistakes"] == totals
    assert torch.allclose(r0["weight"], layers[0].weight, atol=1e-6)
    assert torch.allclose(r0["bias"], layers[0].bias, atol=1e-6)
    assert r0["global_step"] == 2 * (-(-len(data.train_set) // 2 // 16))


def test_module_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        PerceptronClassifier(2, rule="adam")
    with pytest.raises(ValueError, match="num_classes"):
        PerceptronClassifier(2, num_classes=1)


@pytest.mark.parametrize("variant", ["average", "pocket"])
def test_averaged_and_pocket_through_the_trainer(tmp_path, variant):
    data = SklearnDataModule("iris", batch_size=16)
    model = PerceptronClassifier(data.in_features, data.num_classes, rule="multiclass", **{variant: True})
    trainer(tmp_path, max_epochs=3).fit(model, data)
    layer = PerceptronLayer(4, 3, multiclass=True, **{variant: True})
    manual_epochs(data, layer, 3)
    x, _ = data.test_set.tensors
    assert torch.equal(model(x), layer(x))
    assert torch.equal(model.layer.inference_parameters()[0], layer.inference_parameters()[0])
