"""The Lightning side as a user's own Python meets it: numpy arrays in the data
module, labels outside num_classes named by the module, and a console as
quiet as the command line's."""

import numpy as np
import pytest
import torch

from support import quiet_trainer, run_python
from torch_perceptron.lightning import PerceptronClassifier, TensorDataModule


def blobs(n=80, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(size=(n, 2)) + y[:, None] * 2.0
    return x, y


def test_tensor_data_module_takes_numpy_arrays_as_tensors():
    x, y = blobs()
    from_numpy = TensorDataModule(x, y, val=(x[:10], y[:10]))
    from_tensors = TensorDataModule(
        torch.as_tensor(x), torch.as_tensor(y), val=(torch.as_tensor(x[:10]), torch.as_tensor(y[:10]))
    )
    for split in ("train_set", "val_set", "test_set"):
        for a, b in zip(getattr(from_numpy, split).tensors, getattr(from_tensors, split).tensors):
            assert torch.equal(a, b)
    assert from_numpy.num_classes == 2 and from_numpy.in_features == 2
    with pytest.raises(TypeError, match=r"^x: expected a torch\.Tensor or a numpy array, got list"):
        TensorDataModule(x.tolist(), y)


@pytest.mark.parametrize("where", ["train", "val"])
@pytest.mark.parametrize("rule", ["online", "multiclass"])
def test_labels_outside_num_classes_are_named_by_the_module(tmp_path, where, rule):
    x, y = blobs(classes=3)
    y2 = np.minimum(y, 1)
    data = TensorDataModule(x, y) if where == "train" else TensorDataModule(x, y2, val=(x[:20], y[:20]))
    model = PerceptronClassifier(2, 2, rule=rule)
    with pytest.raises(ValueError) as info:
        quiet_trainer(tmp_path, accelerator="cpu", devices=1, max_epochs=1).fit(model, data)
    message = str(info.value)
    assert message.startswith("y: expected class indices in [0, 2) (the model's num_classes=2), found 2 at position ")
    assert "\n" not in message


def test_the_python_api_prints_no_lightning_tips_or_deprecations(tmp_path):
    # The README's Lightning block as a user runs it, in a fresh process.
    code = (
        "import lightning as L\n"
        "from torch_perceptron.lightning import PerceptronClassifier, SklearnDataModule\n"
        "data = SklearnDataModule('iris')\n"
        "model = PerceptronClassifier(data.in_features, data.num_classes, rule='multiclass')\n"
        "trainer = L.Trainer(max_epochs=2, enable_progress_bar=False)\n"
        "trainer.fit(model, data)\n"
        "trainer.test(model, data, verbose=False)\n"
    )
    out = run_python(["-c", code], tmp_path, PYTHONWARNINGS="default")
    for noise in ("💡 Tip", "litlogger", "litmodels", "LeafSpec"):
        assert noise not in out.stdout + out.stderr, out.stdout + out.stderr
