"""The lecture's examples (vectorization, logic gates, the learning animation),
run as a user runs them, in quick modes, writing into a temporary folder."""

import json
import os

import torch
from PIL import Image

from support import example, run_python
from torch_perceptron import PerceptronLayer
from torch_perceptron.datasets import seed_split

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_vectorization_measures_every_way(tmp_path):
    out = run_python([example("vectorization.py"), "--quick", "--out", str(tmp_path)], tmp_path).stdout
    result = json.loads((tmp_path / "vectorization.json").read_text())
    dots = {t["name"]: t for t in result["dot_product"]}
    assert set(dots) == {"for loop", "generator + sum()", "x.dot(w)", "for loop over floats"}
    # The note's lesson, measured: the vectorized dot product beats both loops.
    assert dots["x.dot(w)"]["mean"] < dots["for loop"]["mean"]
    assert dots["x.dot(w)"]["mean"] < dots["generator + sum()"]["mean"]
    assert list(result["epoch"]) == ["seed data 300x2", "random 100,000x100"]
    for data_name, timings in result["epoch"].items():
        ways = {t["name"]: t for t in timings}
        assert list(ways) == ["Python loop", "per-sample torch", "compiled op", "mini-batch rule (B=256)"]
        for t in timings:
            assert t["mean"] > 0 and t["total"] > 0
            assert t["extrapolated"] == (t["done"] < t["total"])
            assert f"{data_name:20s} {t['name']:24s}" in out
        op = ways["compiled op"]["mean"]
        assert not ways["compiled op"]["extrapolated"]
        assert op < ways["Python loop"]["mean"] and op < ways["per-sample torch"]["mean"]
    # The quick budget cannot fit the per-sample loop over 100,000 rows: it is
    # extrapolated, and says so.
    big = {t["name"]: t for t in result["epoch"]["random 100,000x100"]}
    assert big["per-sample torch"]["extrapolated"]
    assert "extrapolated from" in out
    assert is_png(tmp_path / "vectorization.png")


def test_logic_gates_learn_and_or_nand_but_never_xor(tmp_path):
    run_python([example("logic_gates.py"), "--epochs", "12", "--out", str(tmp_path)], tmp_path).stdout
    result = json.loads((tmp_path / "logic_gates.json").read_text())
    gates = result["gates"]
    for name in ("AND", "OR", "NAND"):
        assert gates[name]["mistakes"][0] > 0
        assert gates[name]["mistakes"][-1] == 0, name
        assert gates[name]["predictions"] == gates[name]["expected"], name
    assert gates["AND"]["expected"] == [0, 0, 0, 1] and gates["NAND"]["expected"] == [1, 1, 1, 0]
    xor = gates["XOR"]
    assert min(xor["mistakes"]) > 0
    assert xor["predictions"] != xor["expected"]
    # The line keeps moving: within the last epoch it takes several positions.
    assert len({tuple(w) for w in xor["last_epoch"]}) >= 2
    for name, check in result["w0_notation"].items():
        assert check["same_weights"] and check["same_predictions"], name
        assert check["with_bias"] == check["folded"]
    assert is_png(tmp_path / "logic_gates.png")


def test_learning_animation_has_a_frame_per_mistake(tmp_path):
    out = run_python([example("learning_animation.py"), "--quick", "--out", str(tmp_path)], tmp_path).stdout
    result = json.loads((tmp_path / "learning_animation.json").read_text())
    mistakes = sum(result["mistakes_per_epoch"])
    assert mistakes > 10
    with Image.open(tmp_path / "learning_animation.gif") as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == mistakes + 1 == result["frames"]
    assert os.path.getsize(tmp_path / "learning_animation.gif") < 300 * 1024
    assert is_png(tmp_path / "learning_animation.png")
    # The trace ends where plain updates over the same epochs leave the layer.
    data = seed_split(result["seed"])
    layer = PerceptronLayer(2)
    for _ in range(result["epochs"]):
        layer.update(data.x_train, data.y_train)
    assert torch.equal(torch.tensor([result["final_trace_weight"]]), layer.weight)
    assert result["final_trace_bias"] == float(layer.bias[0])
    assert "Test set accuracy:" in out


def test_trace_cost_times_the_three_ways(tmp_path):
    out = run_python(
        [example("trace_cost.py"), "--n", "3000", "--d", "10", "--epochs", "2", "--repeats", "1"], tmp_path
    ).stdout
    assert out.count("update_traced") == 2 and out.count("op per sample") == 2
    assert "seed 300x2: 2 epochs," in out and "random 3,000x10: 2 epochs," in out
