"""The examples run as written: examples/saliency_tutorial.py (the seed tutorial ported),
examples/explanation_quality.py (the evidence behind the README's explanation-quality numbers)
and the README's Python API example that logs to MLflow."""

import dataclasses
import re
import runpy
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.cifar import write_cifar
from xaiexp.dataset.data import _cache, cifar10

EXAMPLE = ROOT / "examples" / "saliency_tutorial.py"


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


README = ROOT / "README.md"


def readme_block(containing):
    """The README's fenced Python block that contains ``containing``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


@pytest.mark.slow
def test_the_readme_python_api_run_logs_to_mlflow(tmp_path, monkeypatch):
    """README "Python API": the MLflowTrace example runs as written, into an MLflow store that
    then holds the run's metrics, stepped saliency images and figure artifacts."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    namespace = {}
    exec(compile(readme_block("MLflowTrace()"), "README.md", "exec"), namespace)
    assert namespace["estimator"].system.global_step == 2 * 8  # train_steps_per_epoch=8
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/outputs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("python-api").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["optimizer"] == "adam"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/accuracy")] == [8, 16]
    assert "eval/xai/smint_saliency/deletion_auc" in run.data.metrics
    figures = {item.path for item in client.list_artifacts(run.info.run_id, "saliency")}
    assert {"saliency/eval_epoch_002.png", "saliency/eval_epoch_002.npz"} <= figures
