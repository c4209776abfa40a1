"""The examples run as written: examples/saliency_tutorial.py (the seed tutorial ported) and
examples/explanation_quality.py (the evidence behind the README's explanation-quality numbers)."""

import dataclasses
import runpy
from pathlib import Path

import pytest

from test_datasets import write_cifar
from xaiexp.dataset.data import _cache, cifar10

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "saliency_tutorial.py"


@pytest.mark.slow
def test_the_tutorial_trains_explains_and_saves_figures(tmp_path, monkeypatch):
    """A small CIFAR-10 archive in the official format sits in the Keras cache; the script's
    own ``cifar10.load_data()`` reads it (its real checksum check pointed at this archive)."""
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    archive = write_cifar(cache / "cifar-10-batches-py-target_archive", rows=32)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(cifar10, "ARCHIVE", dataclasses.replace(cifar10.ARCHIVE, sha256=_cache.sha256(archive)))
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    saved = sorted(p.name for p in (tmp_path / "saliency_figures").iterdir())
    assert saved == [*(f"saliency_eval_epoch_{n}.png" for n in range(1, 6)), "saliency_test_epoch_5.png"]
    assert namespace["estimator"].system.global_step == 5 * 5
    assert namespace["images"].paint_numpy().shape[2] == 3
    assert list(Path(namespace["save_dir"]).glob("t08a_saliency.png"))


QUALITY_EXAMPLE = EXAMPLE.parent / "explanation_quality.py"


@pytest.mark.slow
def test_the_explanation_quality_example_prints_its_three_tables(monkeypatch, capsys):
    """examples/explanation_quality.py runs end to end at toy size (its defaults give the README's
    numbers)."""
    monkeypatch.setattr("sys.argv", [str(QUALITY_EXAMPLE), "--epochs", "1", "--probes", "8",
                                     "--train-size", "500"])
    runpy.run_path(str(QUALITY_EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out
    for title in ("Table 1: localization and faithfulness", "Table 2: sanity check",
                  "Table 3: shortcut check"):
        assert f"### {title}" in printed
    assert "total" in printed.splitlines()[-1]
