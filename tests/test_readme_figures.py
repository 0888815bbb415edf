"""Figures README.md quotes from what a script prints, held to what the script
prints now, so that they cannot drift again (the accuracy `make run` prints is
checked beside its other output, in test_cli_and_examples.py)."""

import os
import re

from support import ROOT, example, run_python


def readme() -> str:
    with open(os.path.join(ROOT, "README.md")) as f:
        return " ".join(f.read().split())  # one line: a figure may sit across a line break


def run(script, *args, cwd):
    return run_python([example(script), *args], cwd).stdout


def test_the_animations_test_accuracy_and_mistakes_are_the_ones_it_prints(tmp_path):
    out = run("learning_animation.py", "--out", str(tmp_path), cwd=tmp_path)
    accuracy = re.search(r"^Test set accuracy: (\d+\.\d\d%)$", out, re.M).group(1)
    mistakes = re.search(r"^Mistakes per epoch: \[.*\] \((\d+) frames after the start\)$", out, re.M).group(1)
    text = readme()
    assert (
        f"The animation trains in the order of the fixed split every epoch ({accuracy} test "
        "accuracy with the default seed)" in text
    )
    assert f"on the seed's data ({mistakes} mistakes in 5 epochs)" in text


def test_the_trace_costs_mistake_count_is_the_one_it_prints(tmp_path):
    # The seed's data only matter here: the large data set made small.
    out = run("trace_cost.py", "--n", "500", "--d", "5", "--repeats", "1", cwd=tmp_path)
    mistakes = re.search(r"^seed 300x2: 5 epochs, ([\d,]+) mistakes", out, re.M).group(1)
    assert f"on the seed's data ({mistakes} mistakes in 5 epochs)" in readme()
