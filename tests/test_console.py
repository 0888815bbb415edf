"""What our commands print around Lightning: the narrow filters, the model
summary that counts the perceptron's weights, the plain progress bar."""

import io
import logging
import warnings

from lightning.pytorch.callbacks import ModelSummary

from support import quiet_trainer
from torch_perceptron.lightning import PerceptronClassifier, PerceptronSummary, TwoBlobsDataModule
from torch_perceptron.lightning.console import PlainProgressBar, progress_bar_for, quiet_lightning
from torch_perceptron.lightning.summary import count_weights, format_summary

RANK_ZERO = "lightning.pytorch.utilities.rank_zero"


def test_tips_filter_drops_the_tips_only(caplog):
    quiet_lightning()
    quiet_lightning()  # idempotent: one filter
    logger = logging.getLogger(RANK_ZERO)
    assert sum(type(f).__name__ == "_NoPromotionalTips" for f in logger.filters) == 1
    caplog.set_level(logging.INFO, logger=RANK_ZERO)
    logger.info("💡 Tip: For seamless cloud logging, try installing litlogger")
    logger.info("GPU available: False, used: False")
    logging.getLogger("somewhere.else").warning("💡 Tip: not Lightning's")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False", "💡 Tip: not Lightning's"]


def test_leafspec_filter_is_narrow():
    from lightning.pytorch.utilities._pytree import _tree_flatten

    message = "`isinstance(treespec, LeafSpec)` is deprecated, use something else"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _tree_flatten(1)  # Lightning builds a LeafSpec: torch 2.13 warns
        assert any("LeafSpec" in str(w.message) for w in caught), "the warning itself is gone: drop the filter"
        caught.clear()
        quiet_lightning()
        _tree_flatten(1)
        # The same text from anywhere else, and any other warning, still shows.
        warnings.warn_explicit(message, FutureWarning, "user.py", 1, module="user")
        warnings.warn_explicit(
            "something else", FutureWarning, "_pytree.py", 1, module="lightning.pytorch.utilities._pytree"
        )
    assert [(str(w.message), w.filename) for w in caught] == [(message, "user.py"), ("something else", "_pytree.py")]


def test_summary_counts_the_weights_held_in_buffers():
    model = PerceptronClassifier(5, 3)  # one-vs-rest: 3 perceptrons of 5 weights and a bias
    assert count_weights(model) == count_weights(model.layer) == 18
    assert count_weights(PerceptronClassifier(5, 3, rule="multiclass", average=True)) == 18
    table = format_summary(model)
    assert "0 | layer     | PerceptronLayer    | 18      | train" in table.splitlines()
    assert "18        Weights (buffers, learned by the perceptron rule)" in table
    assert "Total params" not in table


def test_the_module_puts_its_summary_in_place_of_lightnings(tmp_path):
    data = TwoBlobsDataModule(batch_size=100)
    model = PerceptronClassifier(2)
    trainer = quiet_trainer(tmp_path, max_epochs=1, enable_model_summary=True)
    assert [type(cb) for cb in trainer.callbacks if isinstance(cb, ModelSummary)] == [ModelSummary]
    trainer.fit(model, data)
    summaries = [cb for cb in trainer.callbacks if isinstance(cb, ModelSummary)]
    assert [type(cb) for cb in summaries] == [PerceptronSummary]
    # A summary switched off stays off.
    quiet = quiet_trainer(tmp_path, max_epochs=1)
    quiet.fit(PerceptronClassifier(2), data)
    assert not [cb for cb in quiet.callbacks if isinstance(cb, ModelSummary)]


def test_plain_progress_bar_prints_one_line_per_epoch(tmp_path, capsys):
    data = TwoBlobsDataModule(batch_size=32)
    trainer = quiet_trainer(tmp_path, max_epochs=3, enable_progress_bar=True, callbacks=[PlainProgressBar()])
    trainer.fit(PerceptronClassifier(2), data)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "\r" not in out
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {epoch}/3: train_acc 0.")
        assert ", val_acc 0." in line


def test_progress_bar_for_a_pipe_or_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_bar_for(io.StringIO()), PlainProgressBar)
    assert progress_bar_for(Terminal()) is None
