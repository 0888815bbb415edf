"""The command line and the examples, run as a user runs them."""

import glob
import os
import re

import pytest
import torch

from support import ROOT, example, run_python


def write_csv(path):
    """240 rows of 3 features, labels 'pos' / 'neg' from a separable teacher."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(240, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) > 0
    lines = ["f1,f2,f3,label"] + [
        f"{a:.5f},{b:.5f},{c:.5f},{'pos' if t else 'neg'}" for (a, b, c), t in zip(x.tolist(), y.tolist())
    ]
    path.write_text("\n".join(lines) + "\n")


def test_cli_trains_on_a_csv_with_a_config_file(tmp_path):
    write_csv(tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text(
        "trainer:\n  max_epochs: 4\n  enable_progress_bar: false\n  default_root_dir: runs\n"
        "data:\n  class_path: torch_perceptron.lightning.CSVDataModule\n"
        "  init_args:\n    path: data.csv\n    label_column: label\n    batch_size: 16\n"
    )
    out = run_python(["-m", "torch_perceptron", "fit", "--config", "config.yaml"], tmp_path).stdout
    assert re.fullmatch(r"Validation accuracy: \d+\.\d\d% \(36 samples\)", out.splitlines()[-1])
    ckpts = glob.glob(str(tmp_path / "runs" / "**" / "*.ckpt"), recursive=True)
    assert len(ckpts) == 1
    state = torch.load(ckpts[0], weights_only=False)
    assert state["hyper_parameters"]["in_features"] == 3
    w = state["state_dict"]["layer.weight"][0]
    # A separable teacher: the learned direction points the same way.
    assert torch.nn.functional.cosine_similarity(w, torch.tensor([1.0, -2.0, 0.5]), dim=0) > 0.9
    # The same run from flags alone, through the short class name.
    run_python(
        [
            "-m",
            "torch_perceptron",
            "test",
            "--data",
            "CSVDataModule",
            "--data.path",
            "data.csv",
            "--ckpt_path",
            ckpts[0],
            "--trainer.default_root_dir",
            "runs2",
        ],
        tmp_path,
    )


# Every line `make run` may print; anything else is a line a user would have
# to ask about (see also tests/test_cli.py for the command line's).
MAKE_RUN_LINES = [
    r"X_train: \(300, 2\) X_test: \(100, 2\)",
    r"GPU available: .*",
    r"TPU available: .*",
    r"`Trainer.fit` stopped: `max_epochs=5` reached\.",
    r"Plots: \S+seed_decision_boundary\.png \S+seed_mistakes_per_epoch\.png",
    r"Mistakes per epoch: \[\d+(, \d+){4}\]",
    r"Model parameters:",
    r"  Weights: tensor\(\[\[-?\d+\.\d+, -?\d+\.\d+\]\]\)",
    r"  Bias: tensor\(\[-?\d+\.\]\) \(learned with the weights(; it happens to end at 0 with this seed)?\)",
    r"Test set accuracy: \d+\.\d\d%",
]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """What `make run` prints (stdout and stderr), and where its plots went."""
    out_dir = tmp_path_factory.mktemp("make_run")
    out = run_python([example("seed_experiment.py"), "--out", str(out_dir)], out_dir)
    return out.stdout, out.stderr, out_dir


def test_seed_experiment_prints_and_plots(make_run):
    out, _, out_dir = make_run
    assert "Weights:" in out and "Bias:" in out
    assert out.splitlines()[-1].startswith("Test set accuracy: ")  # ends with the accuracy
    acc = float(out.split("Test set accuracy:")[1].split("%")[0])
    assert acc > 75.0
    for name in ("seed_decision_boundary.png", "seed_mistakes_per_epoch.png"):
        with open(out_dir / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_make_run_says_the_bias_is_learned_even_where_it_ends_at_0(make_run):
    bias = next(line for line in make_run[0].splitlines() if line.startswith("  Bias:"))
    value = float(re.search(r"tensor\(\[(-?\d+\.\d*)\]\)", bias).group(1))
    assert "(learned with the weights" in bias
    assert ("it happens to end at 0" in bias) == (value == 0)


def test_readme_gives_the_accuracy_make_run_prints(make_run):
    printed = re.search(r"^Test set accuracy: (\d+\.\d\d%)$", make_run[0], re.M).group(1)
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = " ".join(f.read().split())
    assert f"With the default seed it prints a test accuracy of {printed}" in readme
    assert f"reshuffles the order every epoch through the Trainer ({printed})" in readme


def test_make_run_prints_no_line_a_user_would_ask_about(make_run):
    from test_cli import assert_quiet

    out, err, _ = make_run
    assert_quiet(out + err, allowed=MAKE_RUN_LINES + [""])


def test_plain_pytorch_loop_prints_the_same_run_as_make_run(make_run, tmp_path):
    plain = run_python([example("plain_pytorch_loop.py")], tmp_path).stdout
    assert "lightning" not in plain.lower()
    report = plain.splitlines()[-5:]
    assert report[0].startswith("Mistakes per epoch:") and report[-1].startswith("Test set accuracy:")
    assert make_run[0].splitlines()[-5:] == report
    assert plain.splitlines()[0] == make_run[0].splitlines()[0]  # X_train / X_test shapes


def test_digits_multiclass_example(tmp_path):
    out = run_python([example("digits_multiclass.py"), "--epochs", "3"], tmp_path).stdout
    acc = float(out.split("Test accuracy:")[1].split("%")[0])
    assert acc > 85.0
