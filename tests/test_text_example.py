"""examples/text_out_of_core.py on a slice of the corpus, run as a user runs
it: every learner streams the same chunks, ours takes scikit-learn's decisions
(the same test accuracy as its Perceptron), the plot is written and the
Lightning run streams the hashed corpus from svmlight shards. Skipped where
apt's package lists are empty (``apt-get update`` fills them)."""

import hashlib
import importlib.util
import os
import re

import pytest

import support
from support import ROOT, run_python
from torch_perceptron import text_corpus

SCRIPT = support.example("text_out_of_core.py")
REASON = text_corpus.available()
needs_corpus = pytest.mark.skipif(REASON is not None, reason=f"text corpus unavailable: {REASON}")


def example():
    spec = importlib.util.spec_from_file_location("text_out_of_core", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plot_goes_under_outputs_with_about_ten_points_at_any_limit():
    module = example()
    args = module.parse_args([])
    assert args.out == os.path.join("outputs", "text_out_of_core.png")
    assert args.eval_every == 5000  # the whole corpus: as before
    for limit, chunk in [(5000, 1000), (2000, 500), (50_000, 1000), (3000, 1000)]:
        every = module.parse_args(["--limit", str(limit), "--chunk", str(chunk)]).eval_every
        assert every % chunk == 0
        assert limit // every >= 3, (limit, chunk, every)
    assert module.parse_args(["--eval-every", "700"]).eval_every == 700


@needs_corpus
def test_readmes_quick_look_writes_curves_under_outputs_not_over_the_tracked_figure(tmp_path):
    tracked = os.path.join(ROOT, "docs", "images", "text_out_of_core.png")
    before = hashlib.sha256(open(tracked, "rb").read()).hexdigest()
    # README's quick look, --limit 5000 (a smaller test set and no Lightning run, for time).
    quick_look = ["--limit", "5000", "--test-limit", "300", "--lightning-epochs", "0", "--no-cuda"]
    run = run_python([SCRIPT, *quick_look], tmp_path, timeout=600)
    plot = os.path.join("outputs", "text_out_of_core.png")
    assert run.stdout.splitlines()[-1] == f"plot: {plot} (5 test scores per learner)"
    assert (tmp_path / plot).stat().st_size > 10_000
    assert hashlib.sha256(open(tracked, "rb").read()).hexdigest() == before


@needs_corpus
def test_text_out_of_core_example_on_a_slice(tmp_path):
    plot = tmp_path / "plot.png"
    chunks = ["--limit", "2000", "--test-limit", "600", "--chunk", "500", "--eval-every", "1000"]
    run = run_python(
        [SCRIPT, *chunks, "--lightning-epochs", "1", "--no-cuda", "--out", str(plot)], tmp_path, timeout=600
    )
    out = run.stdout
    assert "after 2000 training documents" in out
    acc = {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"^  (.+?)\s+test accuracy (\d\.\d+)", out, re.M)}
    assert set(acc) == {
        "ours",
        "ours, averaged",
        "scikit-learn Perceptron",
        'scikit-learn SGDClassifier(loss="perceptron", average=True)',
    }
    # Ours is scikit-learn's Perceptron, decision for decision.
    assert acc["ours"] == acc["scikit-learn Perceptron"]
    majority = float(re.search(r"largest class (\d\.\d+)", out).group(1))
    assert all(a > majority for a in acc.values())
    assert plot.stat().st_size > 10_000
    lightning = re.search(r"Lightning Trainer.*test accuracy (\d\.\d+)", out)
    assert lightning is not None and float(lightning.group(1)) > majority
