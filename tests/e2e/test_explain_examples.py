"""examples/what_is_explained.py and examples/scoring_power.py (the evidence behind the README's
probability-vs-logit and scoring-set numbers) run as written, at toy size."""

import runpy

import keras
import pytest

from tests.support import ROOT
from xaiexp.architecture.tensorflow import LeNet

EXAMPLES = ROOT / "examples"


def run(monkeypatch, capsys, name, *args):
    monkeypatch.setattr("sys.argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.slow
def test_what_is_explained_compares_probability_and_logit(monkeypatch, capsys, tmp_path):
    keras.utils.set_random_seed(0)
    path = tmp_path / "lenet.keras"
    LeNet(input_shape=(32, 32, 3), classes=5).save(path)
    printed = run(monkeypatch, capsys, "what_is_explained.py", "--model", str(path),
                  "--images", "6")
    assert "| SmoothGrad vs squared vanilla: median correlation" in printed
    assert "| measure" in printed and "| probability | logit |" in printed


@pytest.mark.slow
def test_scoring_power_prints_paired_differences(monkeypatch, capsys):
    printed = run(monkeypatch, capsys, "scoring_power.py", "--epochs", "1", "--images", "10",
                  "--train-size", "200")
    assert "| method | n | Adam 0.001 | Adam 0.0003 | paired difference | p (paired t) |" in printed
    assert printed.count("| smoothgrad |") == 2  # n = 5 and the whole set, 10
