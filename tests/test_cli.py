"""The command line as a new user meets it: exit status, the held-out accuracy
at the end of fit, one line per error, a help without options that mean
nothing here, and a console with no line a user would have to ask about.

Entry points and the console are checked in fresh processes, as run; the
table of errors in this process, through main(), which returns the status."""

import os
import re
import shutil
import sys

import pytest

from support import run_command
from test_cli_and_examples import write_csv
from torch_perceptron.cli import main

# Lines Lightning and our commands may print on a fit (stdout and stderr, not
# on a terminal); anything else is a line a user would have to ask about.
ALLOWED = [
    r"GPU available: .*",
    r"TPU available: .*",
    r"",
    # PerceptronSummary's table.
    r"\s*\| Name\s+\| Type\s+\| Weights\s+\| Mode",
    r"-+",
    r"\d+ \| \w+\s+\| \w+\s+\| [\d,]+\s+\| (train|eval)",
    r"\d[\d,]*\s+Weights \(buffers, learned by the perceptron rule\)",
    r"0\s+Trainable params \(learned by an optimizer\)",
    r"\d+\.\d{3}\s+Total estimated model size \(MB\)",
    # PlainProgressBar.
    r"epoch \d+/\d+: train_acc \d\.\d{3}(, val_acc \d\.\d{3})?",
    r"`Trainer.fit` stopped: `max_epochs=\d+` reached\.",
    r"Checkpoint: \S+\.ckpt",
    r"(Validation|Test|Training) accuracy: \d+\.\d\d% \(\d+ samples\)",
    r"Predictions: \S+\.predictions\.csv \(\d+ samples\)",
    # test and predict, from a checkpoint.
    r"Restoring states from the checkpoint path at \S+\.ckpt",
    r"Loaded model weights from the checkpoint at \S+\.ckpt",
    r"[─]+",
    r"\s+Test metric\s+DataLoader 0",
    r"\s+test_acc\s+\d\.\d+",
]
# What used to be printed, named, so a failure says which came back.
KNOWN_NOISE = [
    "💡 Tip",
    "litlogger",
    "litmodels",
    "LeafSpec",
    "tensorboardX",
    "smaller than the logging interval",
    "across ranks is zero",
    "Total params",
    "Traceback",
    "\r",
    "PerceptronCLI object at",
    "dirpath has changed",
    "callbacks used to create the checkpoint",
]


def unexpected_lines(output: str, allowed=ALLOWED) -> list[str]:
    patterns = [re.compile(p) for p in allowed]
    return [line for line in output.split("\n") if not any(p.fullmatch(line) for p in patterns)]


def assert_quiet(output: str, allowed=ALLOWED) -> None:
    noise = [n for n in KNOWN_NOISE if n in output]
    assert not noise, f"known noise came back: {noise}\n{output}"
    extra = unexpected_lines(output, allowed)
    assert not extra, f"lines a user would have to ask about: {extra}\n{output}"


def console_script() -> str:
    path = os.path.join(os.path.dirname(sys.executable), "torch-perceptron")
    path = path if os.path.exists(path) else shutil.which("torch-perceptron")
    if path is None:
        pytest.skip("the torch-perceptron script is not installed")
    return path


@pytest.fixture
def data_csv(tmp_path):
    write_csv(tmp_path / "data.csv")
    return tmp_path / "data.csv"


def test_console_script_fit_exits_0_ends_with_the_accuracy_and_prints_nothing_else(tmp_path, data_csv):
    data = ["--data", "CSVDataModule", "--data.path", str(data_csv), "--data.label_column", "label"]
    out = run_command([console_script(), "fit", *data, "--trainer.max_epochs", "3"], cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(r"Validation accuracy: \d+\.\d\d% \(36 samples\)", out.stdout.splitlines()[-1])
    assert "4         Weights" in out.stderr  # 3 features and a bias, not "0 params"
    assert len(re.findall(r"^epoch \d/3: ", out.stdout, re.M)) == 3
    assert_quiet(out.stdout + out.stderr)


@pytest.mark.parametrize("entry", ["script", "module"])
def test_a_failure_exits_non_zero_with_one_line(tmp_path, entry):
    command = [console_script()] if entry == "script" else [sys.executable, "-m", "torch_perceptron"]
    out = run_command([*command, "fit", "--data", "CSVDataModule", "--data.path", "missing.csv"], cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "torch-perceptron: error: --data.path: no CSV file at 'missing.csv' (--debug shows the traceback)"
    ]


@pytest.fixture(autouse=True)
def command_line(monkeypatch):
    """main(args) in this process sees no pytest arguments in sys.argv."""
    monkeypatch.setattr(sys, "argv", ["torch-perceptron"])


def fit(args, root):
    return main(
        [
            "fit",
            *args,
            "--trainer.max_epochs",
            "2",
            "--trainer.default_root_dir",
            str(root),
            "--trainer.enable_progress_bar",
            "false",
        ]
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data.path", "{dir}/nope.csv"], r"--data\.path: no CSV file at '.*nope\.csv'"),
        (
            ["--data.path", "{csv}", "--data.label_column", "target"],
            r"--data\.label_column: no column 'target' in '.*data\.csv'; columns: \['f1', 'f2', 'f3', 'label'\]",
        ),
        (["--data.path", "{bad}"], r"--data\.path: .*bad\.csv:3: column 'b': expected a number, got 'x'"),
        ([], r"--data\.path: required, not given"),
        (["--data.path", "{csv}", "--model.lr", "-1"], r"--model\.lr: expected a finite value > 0, got -1\.0"),
        (["--data.path", "{csv}", "--trainer.max_epochs", "x"], r"--trainer\.max_epochs: .*int.*'x'"),
        (["--data.path", "{csv}", "--optimizer", "Adam"], r"unrecognized arguments: --optimizer Adam"),
    ],
)
def test_bad_arguments_give_one_line_naming_the_argument(tmp_path, data_csv, capsys, args, message):
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,0\n3,x,1\n")
    args = [a.format(dir=tmp_path, csv=data_csv, bad=tmp_path / "bad.csv") for a in args]
    assert fit(["--data", "CSVDataModule", *args], tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert re.fullmatch(rf"torch-perceptron: error: {message} \(.*\)", err[0]), err[0]


def test_debug_keeps_the_traceback(tmp_path):
    with pytest.raises(Exception) as info:
        fit(["--data", "CSVDataModule", "--data.path", str(tmp_path / "nope.csv"), "--debug"], tmp_path)
    chain, e = [], info.value
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    assert any("path: no CSV file at" in text for text in chain)


def test_without_validation_data_fit_ends_with_the_test_accuracy(tmp_path, data_csv, capsys):
    assert fit(["--data", "CSVDataModule", "--data.path", str(data_csv), "--data.val_fraction", "0"], tmp_path) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"Test accuracy: \d+\.\d\d% \(60 samples\)", out[-1]), out


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"]])
def test_help_offers_only_what_applies(capsys, argv):
    assert main(argv) == 0
    text = capsys.readouterr().out
    for meaningless in (
        "--optimizer",
        "--lr_scheduler",
        "--trainer.gradient_clip_val",
        "--trainer.gradient_clip_algorithm",
        "--trainer.accumulate_grad_batches",
        "--trainer.detect_anomaly",
        "--trainer.sync_batchnorm",
        "--trainer.model_registry",
    ):
        assert meaningless not in text
    if argv[0] == "fit":
        assert "--debug" in text and "--model.rule" in text and "--trainer.max_epochs" in text
    else:
        assert "CSVDataModule" in text  # the description says how to train on a CSV file


def test_predict_writes_the_predictions_beside_the_checkpoint_and_test_is_quiet(tmp_path, data_csv):
    data = ["--data", "CSVDataModule", "--data.path", str(data_csv)]
    fitted = run_command(
        [console_script(), "fit", *data, "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false"],
        cwd=tmp_path,
    )
    assert fitted.returncode == 0, fitted.stderr
    ckpt = re.search(r"^Checkpoint: (\S+)$", fitted.stdout, re.M).group(1)
    for command in ("predict", "test"):
        out = run_command([console_script(), command, *data, "--ckpt_path", ckpt], cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert_quiet(out.stdout + out.stderr)
        if command == "predict":
            written = os.path.splitext(ckpt)[0] + ".predictions.csv"
            assert out.stdout.splitlines()[-1] == f"Predictions: {written} (60 samples)"
    with open(os.path.join(tmp_path, written)) as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    assert rows[0] == ["index", "prediction"] and len(rows) == 61
    # Each test sample named by its data row (0-based, after the header) and
    # predicted as the file's own label.
    index = [int(r[0]) for r in rows[1:]]
    assert len(set(index)) == 60 and all(0 <= i < 240 for i in index)
    assert {r[1] for r in rows[1:]} <= {"pos", "neg"}


def write_libsvm(path, rows, seed):
    """A 1-based LIBSVM file (LIBSVM's own convention) of 3 features, labels -1 / +1."""
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(3)]
        label = 1 if x[0] - 2 * x[1] + 0.5 * x[2] > 0 else -1
        lines.append(f"{label} " + " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(x)))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "held_out, last_line",
    [
        ([], r"Training accuracy: \d+\.\d\d% \(150 samples\)"),
        (["--data.val", "val.txt"], r"Validation accuracy: \d+\.\d\d% \(40 samples\)"),
    ],
)
def test_fit_on_a_libsvm_file_ends_with_an_accuracy_line_and_its_sample_count(tmp_path, held_out, last_line):
    write_libsvm(tmp_path / "train.txt", 150, seed=1)
    write_libsvm(tmp_path / "val.txt", 40, seed=2)
    data = ["--data", "SvmlightDataModule", "--data.train", "train.txt", "--data.n_features", "3", *held_out]
    out = run_command([console_script(), "fit", *data, "--trainer.max_epochs", "3"], cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(last_line, out.stdout.splitlines()[-1]), out.stdout
    assert float(re.search(r"(\d+\.\d\d)%", out.stdout.splitlines()[-1]).group(1)) > 80
    # Lightning says once that there is nothing to validate on: true, and the
    # reason the last line is the training accuracy.
    skipped = r"\S+: You defined a `validation_step` but have no `val_dataloader`. Skipping val loop."
    assert_quiet(out.stdout + out.stderr, allowed=ALLOWED + [skipped] * (not held_out))


def test_help_texts_are_our_own_and_whole(tmp_path):
    from torch_perceptron.cli import CKPT_PATH_HELP, SUBCOMMANDS

    top = run_command([console_script(), "--help"], cwd=tmp_path)
    fit_help = run_command([console_script(), "fit", "--help"], cwd=tmp_path)
    assert top.returncode == 0 and fit_help.returncode == 0
    flat = " ".join(top.stdout.split())
    for text in SUBCOMMANDS.values():
        assert " ".join(text.split()) in flat
    fit_flat = " ".join(fit_help.stdout.split())
    assert SUBCOMMANDS["fit"] in fit_flat and CKPT_PATH_HELP["fit"] in fit_flat
    for lightnings in (
        "Runs the full optimization routine",
        "Perform one evaluation epoch",
        "It's separated from fit",
        "Run inference on your data",
        "registry",
        "weights_only",
        "return_predictions",
    ):
        assert lightnings not in top.stdout + fit_help.stdout
