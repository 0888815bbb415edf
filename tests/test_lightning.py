"""PerceptronClassifier, the data modules and the perceptron_ddp strategy with
the real Lightning Trainer."""

import glob
import os
import pickle
import warnings

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch.utils.data.distributed import DistributedSampler

from support import quiet_trainer, run_python
from torch_perceptron import PerceptronLayer
from torch_perceptron.datasets import seed_split
from torch_perceptron.lightning import (
    CSVDataModule,
    PerceptronClassifier,
    SklearnDataModule,
    TensorDataModule,
    TwoBlobsDataModule,
)

HERE = os.path.dirname(__file__)


def trainer(tmp_path, **kwargs) -> L.Trainer:
    """The quiet Trainer on one CPU, checkpointing as Lightning does by default
    unless a test says otherwise."""
    kwargs.setdefault("enable_checkpointing", True)
    return quiet_trainer(tmp_path, accelerator="cpu", devices=1, **kwargs)


def manual_epochs(data, layer, epochs, target=lambda y: y, shards=1, rank=0):
    """The rule applied by hand in the order the data module's sampler gives."""
    mistakes = []
    for epoch in range(epochs):
        sampler = DistributedSampler(data.train_set, num_replicas=shards, rank=rank, shuffle=True, seed=data.seed)
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
    data = TwoBlobsDataModule(seed=0, batch_size=32)
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

    data = TensorDataModule(x, y, batch_size=10)
    model = PerceptronClassifier(2, stop_when_separated=True)
    trainer(tmp_path, max_epochs=50).fit(model, data)
    assert model.mistakes_per_epoch[-1] == 0
    assert len(model.mistakes_per_epoch) < 50


def test_data_modules_split_without_overlap_and_standardize():
    for data in (TwoBlobsDataModule(), SklearnDataModule("breast_cancer")):
        sets = [data.train_set.tensors[0], data.val_set.tensors[0], data.test_set.tensors[0]]
        n = sum(len(s) for s in sets)
        assert len(torch.unique(torch.cat(sets), dim=0)) == n
        assert torch.allclose(sets[0].mean(0), torch.zeros(sets[0].shape[1]), atol=1e-4)
        assert torch.allclose(sets[0].std(0), torch.ones(sets[0].shape[1]), atol=1e-4)
    iris = SklearnDataModule("iris")
    assert torch.bincount(iris.test_set.tensors[1]).tolist() == [12, 12, 12]  # stratified
    assert (iris.in_features, iris.num_classes) == (4, 3)


def test_every_data_module_holds_out_validation_data_by_default(tmp_path):
    blobs = TwoBlobsDataModule()
    sizes = [len(d) for d in (blobs.train_set, blobs.val_set, blobs.test_set)]
    assert sizes == [300, 100, 100]
    # The note's 300/100 split stays as it was: the validation points are extra.
    note = seed_split(0)
    assert torch.equal(blobs.train_set.tensors[0], note.x_train)
    assert torch.equal(blobs.test_set.tensors[1], note.y_test)
    assert torch.bincount(blobs.val_set.tensors[1]).tolist() == [50, 50]
    iris = SklearnDataModule("iris")
    assert [len(d) for d in (iris.train_set, iris.val_set, iris.test_set)] == [90, 24, 36]
    assert torch.bincount(iris.val_set.tensors[1]).tolist() == [8, 8, 8]  # stratified
    path = tmp_path / "d.csv"
    path.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    csv = CSVDataModule(str(path))
    assert [len(d) for d in (csv.train_set, csv.val_set, csv.test_set)] == [24, 6, 10]


@pytest.mark.parametrize(
    "make",
    [lambda: TwoBlobsDataModule(batch_size=64), lambda: SklearnDataModule("iris", batch_size=32)],
    ids=["blobs", "iris"],
)
def test_checkpoint_monitoring_val_acc_works_out_of_the_box(tmp_path, make):
    data = make()
    model = PerceptronClassifier(data.in_features, data.num_classes)
    best = ModelCheckpoint(monitor="val_acc", mode="max")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, max_epochs=3, callbacks=[best]).fit(model, data)
    assert best.best_model_path and os.path.isfile(best.best_model_path)
    assert 0.5 < float(best.best_model_score) <= 1.0
    assert not [w for w in caught if "val_acc" in str(w.message) or "across ranks" in str(w.message)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoBlobsDataModule(n_val_per_class=0),
        lambda: SklearnDataModule("iris", val_fraction=0.0),
        # Too few samples per class to spare one for validation.
        lambda: TensorDataModule(torch.arange(6.0)[:, None], torch.arange(6) % 2, stratify=True),
    ],
    ids=["blobs", "iris", "tiny"],
)
def test_no_validation_data_skips_the_val_loop_without_an_empty_loader(tmp_path, make):
    data = make()
    assert len(data.val_set) == 0
    model = PerceptronClassifier(data.in_features, data.num_classes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = trainer(tmp_path, max_epochs=2)
        t.fit(model, data)
    assert "val_acc" not in t.callback_metrics and "train_acc" in t.callback_metrics
    said = [str(w.message) for w in caught]
    assert not [m for m in said if "across ranks" in m], said
    assert [m for m in said if "Skipping val loop" in m], said  # Lightning's word for it
    with pytest.raises(Exception, match="val_dataloader"):
        t.validate(model, data)
    # It survives pickling (a spawned process gets a copy): still no validation.
    again = pickle.loads(pickle.dumps(data))
    assert not is_overridden("val_dataloader", again)
    assert is_overridden("val_dataloader", TwoBlobsDataModule())


def test_own_validation_set_or_fraction_not_both():
    x, y = torch.randn(40, 2), torch.arange(40) % 2
    with pytest.raises(ValueError, match="val, val_fraction"):
        TensorDataModule(x, y, val=(x[:4], y[:4]), val_fraction=0.2)
    data = TensorDataModule(x, y, val=(x[:4], y[:4]))
    assert [len(d) for d in (data.train_set, data.val_set, data.test_set)] == [30, 4, 10]
    with pytest.raises(ValueError, match="n_val_per_class"):
        TwoBlobsDataModule(n_val_per_class=-1)


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
    run_python([os.path.join(HERE, "scripts", "ddp_train.py"), str(tmp_path), "2", mix], tmp_path)
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
    data = TwoBlobsDataModule(seed=3, batch_size=16)
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
