"""The command line: Lightning's CLI over PerceptronClassifier and the data
modules, so a CSV file trains without writing Python.

    torch-perceptron fit --data CSVDataModule --data.path data.csv \\
        --data.label_column label --trainer.max_epochs 10
    torch-perceptron fit --data SvmlightDataModule --data.train shards/ \\
        --data.n_features 262144 --data.val val.svm --trainer.max_epochs 5
    python -m torch_perceptron fit --config config.yaml

The model's ``in_features`` and ``num_classes`` come from the data module.
``fit`` ends with an accuracy line and its sample count: the validation data's,
else the test data's, else (nothing held out) the training data's, said so.
``predict --ckpt_path model.ckpt`` writes the predicted classes of the data
module's test data to ``model.predictions.csv`` beside the checkpoint and prints
its path. The exit status is 0 on success, 2 for a bad argument (one line
naming it), 1 for any other failure; ``--debug`` shows the traceback instead.

What a perceptron has no use for is not offered: no --optimizer or
--lr_scheduler (the rule updates the weights itself) and none of the
Trainer's gradient options (clipping, accumulation), which refuse manual
optimization.
"""

import csv
import os
import re
import sys
import warnings
from argparse import ArgumentError
from typing import Any, Optional, Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, ModelSummary
from lightning.pytorch.callbacks.progress import ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger

from .lightning import PerceptronClassifier, PerceptronSummary
from .lightning.console import progress_bar_for, quiet_lightning

PROG = "torch-perceptron"
DESCRIPTION = (
    "Train and evaluate Rosenblatt's perceptron with Lightning's Trainer, on a CSV file "
    "(--data CSVDataModule --data.path FILE --data.label_column NAME), LIBSVM/svmlight "
    "files streamed in chunks (--data SvmlightDataModule --data.train FILE_OR_DIR "
    "--data.n_features N), a data set bundled "
    "with scikit-learn (--data SklearnDataModule --data.name iris) or the lecture note's "
    "blobs (--data TwoBlobsDataModule)."
)
# Trainer options that mean nothing here: gradients (clipping, accumulation and
# anomaly detection; the rule has none and they refuse manual optimization),
# batch norm, and Lightning's cloud model registry.
NOT_FOR_PERCEPTRONS = {
    "gradient_clip_val",
    "gradient_clip_algorithm",
    "accumulate_grad_batches",
    "detect_anomaly",
    "sync_batchnorm",
    "model_registry",
}
# Each subcommand in our words: Lightning's are its Trainer methods' docstrings,
# cut at their first line ("Runs the full optimization routine.").
SUBCOMMANDS = {
    "fit": "Train the perceptron on the data module's training data, then print an "
    "accuracy line: on the validation data, else the test data, else (nothing held "
    "out) the training data.",
    "validate": "Print the accuracy of a trained model (--ckpt_path) on the validation data.",
    "test": "Print the accuracy of a trained model (--ckpt_path) on the test data.",
    "predict": "Predict the classes of the test data with a trained model (--ckpt_path) and "
    "write them to a CSV file beside the checkpoint.",
}
CKPT_PATH_HELP = {
    "fit": "A checkpoint (.ckpt) to resume training from, or 'last' for the last one saved "
    "under --trainer.default_root_dir.",
    "validate": "The checkpoint (.ckpt) of the model to score, as fit saves it.",
    "test": "The checkpoint (.ckpt) of the model to score, as fit saves it.",
    "predict": "The checkpoint (.ckpt) of the model to predict with, as fit saves it; the "
    "predictions go beside it (model.predictions.csv).",
}


class PerceptronCLI(LightningCLI):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_configure_optimizers", False)
        # Nothing here draws from the global generators: the weights start at
        # zero and the data modules seed their split and order (--data.seed).
        kwargs.setdefault("seed_everything_default", False)
        # The module logs per epoch only, so a step interval longer than an
        # epoch would only cost a warning.
        kwargs["trainer_defaults"] = {"log_every_n_steps": 1, **(kwargs.get("trainer_defaults") or {})}
        super().__init__(*args, **kwargs)

    def add_core_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # LightningCLI's own, less the Trainer options that mean nothing here.
        parser.add_class_arguments(
            self.trainer_class,
            "trainer",
            fail_untyped=False,
            instantiate=False,
            sub_configs=True,
            skip=NOT_FOR_PERCEPTRONS,
        )
        parser.set_defaults({"trainer." + k: v for k, v in self.trainer_defaults.items() if k != "callbacks"})
        parser.add_lightning_class_args(self._model_class, "model", subclass_mode=self.subclass_mode_model)
        parser.add_lightning_class_args(self._datamodule_class, "data", subclass_mode=self.subclass_mode_data)

    def _add_subcommands(self, parser: LightningArgumentParser, **kwargs: Any) -> None:
        # LightningCLI's own, with our descriptions (see SUBCOMMANDS).
        self._subcommand_parsers = {}
        subcommands = parser.add_subcommands()
        for name in self.subcommands():
            options = {"description": SUBCOMMANDS[name], **kwargs.get(name, {})}
            subparser = self._prepare_subcommand_parser(self.trainer_class, name, **options)
            self._subcommand_parsers[name] = subparser
            subcommands.add_subcommand(name, subparser, help=SUBCOMMANDS[name])

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any) -> LightningArgumentParser:
        # The Trainer method's one argument that means something here, with our
        # help; LightningCLI would add them all, with their docstrings (model
        # registries, weights_only, return_predictions).
        parser = self.init_parser(**kwargs)
        self._add_arguments(parser)
        parser.add_argument("--ckpt_path", type=Optional[str], default=None, help=CKPT_PATH_HELP[subcommand])
        self._subcommand_method_arguments[subcommand] = ["ckpt_path"]
        return parser

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.in_features", "model.in_features", apply_on="instantiate")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.add_argument(
            "--debug", action="store_true", help="On an error, show the full traceback instead of one line."
        )

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        config = self._get(self.config_init, "trainer", default={})
        if self.subcommand != "fit":
            # Scoring or predicting from --ckpt_path: the Trainer's ModelCheckpoint
            # saves nothing, yet warns that its directory is not the one the
            # checkpoint came from, so its bookkeeping of the best models is
            # not restored; nothing here reads it. (Without a ModelCheckpoint,
            # Lightning warns instead that the callbacks differ.)
            warnings.filterwarnings(
                "ignore",
                message=r"The dirpath has changed from",
                module=r"lightning\.pytorch\.callbacks\.model_checkpoint",
            )
        if config.get("logger") in (None, True):
            # What Lightning falls back to without tensorboard, chosen up front
            # so it does not print a notice about tensorboardX on every run.
            root = config.get("default_root_dir") or os.getcwd()
            kwargs["logger"] = CSVLogger(save_dir=root)
        extra = self.trainer_defaults.get("callbacks") or []
        extra = list(extra) if isinstance(extra, (list, tuple)) else [extra]
        given = [*(config.get("callbacks") or []), *extra]
        if config.get("enable_model_summary") is not False and not any(isinstance(cb, ModelSummary) for cb in given):
            # Ours in place of Lightning's default (which counts no buffers);
            # the flag off keeps Lightning from logging that it skipped its own.
            extra.append(PerceptronSummary())
            kwargs["enable_model_summary"] = False
        if config.get("enable_progress_bar") is not False and not any(isinstance(cb, ProgressBar) for cb in given):
            bar = progress_bar_for(sys.stdout)
            if bar is not None:
                extra.append(bar)
        self.trainer_defaults = {**self.trainer_defaults, "callbacks": extra}
        return super().instantiate_trainer(**kwargs)

    def after_fit(self) -> None:
        trainer, data = self.trainer, self.datamodule
        metrics = trainer.callback_metrics
        if "val_acc" in metrics:
            line = accuracy_line("Validation", float(metrics["val_acc"]), n_samples(data, "val"))
        elif n_samples(data, "test"):
            result = trainer.test(self.model, datamodule=data, verbose=False)  # every rank
            line = accuracy_line("Test", result[0]["test_acc"], n_samples(data, "test"))
        else:
            # Nothing held out: the trained model scored on its own training
            # data, named as such, rather than no line at all.
            result = trainer.test(self.model, dataloaders=data.train_dataloader(), verbose=False)
            line = accuracy_line("Training", result[0]["test_acc"], n_samples(data, "train"))
        if not trainer.is_global_zero:
            return
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint) and checkpoint.best_model_path:
            print(f"Checkpoint: {checkpoint.best_model_path}")
        print(line, flush=True)

    def predict(self, model: L.LightningModule, datamodule: Any = None, ckpt_path: Optional[str] = None) -> None:
        """Trainer.predict, then the predictions written to a CSV file: beside
        the checkpoint (``model.ckpt`` -> ``model.predictions.csv``), else in
        the Trainer's root directory."""
        trainer = self.trainer
        batches = trainer.predict(model, datamodule=datamodule, ckpt_path=ckpt_path)
        if not trainer.is_global_zero:
            return
        predicted = torch.cat([b.reshape(-1).cpu() for b in batches or []]).tolist()
        loaded = trainer.ckpt_path
        path = (
            os.path.splitext(loaded)[0] + ".predictions.csv"
            if loaded
            else os.path.join(trainer.default_root_dir, "predictions.csv")
        )
        index = getattr(datamodule, "test_index", None)
        index = range(len(predicted)) if index is None else index.tolist()
        classes = getattr(datamodule, "classes", None)
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["index", "prediction"])
            out.writerows(zip(index, (label_text(classes, p) for p in predicted)))
        print(f"Predictions: {path} ({len(predicted)} samples)", flush=True)


def n_samples(data: Any, split: str) -> Optional[int]:
    """The samples of a data module's split ("train", "val", "test"), where
    it can tell: its dataset's length, or its own count (svmlight files)."""
    if hasattr(data, "n_samples"):
        return data.n_samples(split)
    dataset = getattr(data, f"{split}_set", None)
    return None if dataset is None else len(dataset)


def label_text(classes: Optional[Sequence[Any]], index: int) -> str:
    """A class index as the data's own label (a CSV's text, an svmlight
    file's number), or the index where the data has no labels of its own."""
    if classes is None:
        return str(index)
    label = classes[index]
    return f"{label:g}" if isinstance(label, float) else str(label)


def accuracy_line(split: str, accuracy: float, n: Optional[int]) -> str:
    samples = f" ({n} samples)" if n is not None else ""
    return f"{split} accuracy: {accuracy * 100:.2f}%{samples}"


def main(args: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status (0: success)."""
    argv = list(sys.argv[1:] if args is None else args)
    debug = "--debug" in argv
    quiet_lightning()
    # Parse errors raise instead of printing the whole usage (dozens of lines).
    no_exit = {"exit_on_error": False}
    try:
        PerceptronCLI(
            PerceptronClassifier,
            # Any data module (dense or sparse) whose in_features and
            # num_classes the model's arguments link to.
            L.LightningDataModule,
            subclass_mode_data=True,
            args=None if args is None else argv,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={
                "prog": PROG,
                "description": DESCRIPTION,
                **no_exit,
                **{name: no_exit for name in LightningCLI.subcommands()},
            },
        )
    except SystemExit as exc:  # --help, --print_config
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ArgumentError as exc:
        if debug:
            raise
        command = " ".join([PROG, *[a for a in argv if a in LightningCLI.subcommands()][:1]])
        print(f"{PROG}: error: {condense(str(exc))} ({command} --help lists the options)", file=sys.stderr)
        return 2
    except Exception as exc:
        if debug:
            raise
        message, status = describe(exc)
        print(f"{PROG}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return status
    return 0


def condense(message: str) -> str:
    """jsonargparse's report on a bad value, in one line where its layout is
    the known one ("Parser key ...", a list of errors per type it tried);
    otherwise as it is."""
    head = re.match(r'Parser key "([^"]+)":\s*(.*)', message, re.S)
    if head is None:
        return message.strip()
    key, rest = head.groups()
    required = re.search(r"the following arguments are required: ([\w, ]+)", rest)
    if required:
        key = key.replace(".init_args", "")
        names = [name.strip() for name in required.group(1).split(",")]
        return ", ".join(f"--{key}.{name}" for name in names) + ": required, not given"
    errors = [line.strip()[2:] for line in rest.splitlines() if line.strip().startswith("- ")]
    errors = [e for e in errors if "NoneType" not in e] or errors
    given = re.search(r"^\s*Given value: (.*)$", rest, re.M)
    text = errors[0] if errors else rest.strip().splitlines()[0]
    if given and "Got value" not in text:
        text += f", got {given.group(1)!r}"
    return f"--{key}: {text}"


def describe(exc: BaseException) -> tuple[str, int]:
    """One line for a failure, and the exit status: the message of the first
    exception a data module or model raised in its constructor, named after
    its argument group (``--data.path: ...``, status 2), else the exception
    itself (status 1). Argument parsers wrap constructor errors in their own
    ("Does not validate against any of the Union subtypes")."""
    for error in _chain(exc):
        group = _raised_by(error)
        if group is not None:
            text = str(error)
            sep = "." if re.match(r"^\w+(, \w+)*: ", text) else ": "
            return f"--{group}{sep}{text}", 2
    return f"{type(exc).__name__}: {exc}".splitlines()[0], 1


def _chain(exc: Optional[BaseException]):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def _raised_by(exc: BaseException) -> Optional[str]:
    """ "data" or "model" when ``exc`` came out of a data module's or a
    LightningModule's ``__init__``."""
    tb = exc.__traceback__
    group = None
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self")
        if frame.f_code.co_name == "__init__":
            if isinstance(owner, L.LightningDataModule):
                group = "data"
            elif isinstance(owner, L.LightningModule):
                group = "model"
        tb = tb.tb_next
    return group


if __name__ == "__main__":
    sys.exit(main())
