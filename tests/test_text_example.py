"""examples/text_out_of_core.py on a slice of the corpus, run as a user runs
it: every learner streams the same chunks, ours takes scikit-learn's decisions
(the same test accuracy as its Perceptron), the plot is written and the
Lightning run streams the hashed corpus from svmlight shards. Skipped where
apt's package lists are empty (``apt-get update`` fills them)."""

import os
import re
import subprocess
import sys

import pytest

from torch_perceptron import text_corpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REASON = text_corpus.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"text corpus unavailable: {REASON}")


def test_text_out_of_core_example_on_a_slice(tmp_path):
    plot = tmp_path / "plot.png"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "text_out_of_core.py"), "--limit", "2000",
         "--test-limit", "600", "--chunk", "500", "--eval-every", "1000",
         "--lightning-epochs", "1", "--no-cuda", "--out", str(plot)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "after 2000 training documents" in out
    acc = {m.group(1).strip(): float(m.group(2))
           for m in re.finditer(r"^  (.+?)\s+test accuracy (\d\.\d+)", out, re.M)}
    assert set(acc) == {"ours", "ours, averaged", "scikit-learn Perceptron",
                        'scikit-learn SGDClassifier(loss="perceptron", average=True)'}
    # Ours is scikit-learn's Perceptron, decision for decision.
    assert acc["ours"] == acc["scikit-learn Perceptron"]
    majority = float(re.search(r"largest class (\d\.\d+)", out).group(1))
    assert all(a > majority for a in acc.values())
    assert plot.stat().st_size > 10_000
    lightning = re.search(r"Lightning Trainer.*test accuracy (\d\.\d+)", out)
    assert lightning is not None and float(lightning.group(1)) > majority
