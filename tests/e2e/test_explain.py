"""``xaiexp explain``: a trained model's maps and metrics, no training, logged as its own run."""

import re

import mlflow
import pytest

from xaiexp.xai.statistics import COMPANIONS
from tests.support.cli import TINY, run_cli

pytestmark = pytest.mark.slow


def runs(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    return client, client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def test_explaining_the_last_run_reproduces_its_test_metrics(home, tmp_path):
    trained = run_cli(*TINY, "explain.metrics=[relevance_mass,pointing_game,deletion_auc,insertion_auc,completeness]")
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run_cli("explain", "explain_run=last")
    assert result.returncode == 0, result.stderr[-3000:]
    client, (source, explained) = runs(home)
    assert explained.data.tags["xaiexp.task"] == "explain" and explained.info.status == "FINISHED"
    assert explained.data.tags["xaiexp.source_run_id"] == source.info.run_id
    assert explained.info.run_name == f"explain {source.info.run_name}"
    # like a training run: the params that set it apart, the whole config as an artifact, a link
    params = explained.data.params
    # what its command line set, and the explained run's own (its model and data)
    assert params == {**source.data.params, "explain_run": "last"} and "epochs" in params
    assert "config.yaml" in [a.path for a in client.list_artifacts(explained.info.run_id)]
    assert f"#/experiments/{explained.info.experiment_id}/runs/{explained.info.run_id}" in result.stderr
    tested = {k: v for k, v in source.data.metrics.items() if k.startswith("test/")}
    scores = [k for k in tested if "/xai/" in k and not k.endswith(COMPANIONS)]
    assert len(scores) == 4 * 4 + 1 + 2 + 4  # completeness: IG only; the uniform and random floors
    assert explained.data.metrics.keys() >= tested.keys() - {"test/ce"}
    for key in tested.keys() - {"test/ce"}:
        assert explained.data.metrics[key] == pytest.approx(tested[key], rel=1e-4, abs=1e-5), key
    figures = [a.path for a in client.list_artifacts(explained.info.run_id, "saliency")]
    assert any(path.endswith("test_epoch_000.png") for path in figures)

    # the same model file, named directly; every method, Grad-CAM included, on the eval split
    model = next(a.path for a in client.list_artifacts(source.info.run_id, "model"))
    path = client.download_artifacts(source.info.run_id, model, str(tmp_path))
    methods = "[vanilla,smoothgrad,integrated,smint,gradient_x_input,vargrad,gradcam,occlusion]"
    result = run_cli("explain", "model=saved", f"model.path={path}", *TINY[:2], "explain.split=eval",
                     f"explain.methods={methods}", "explain.samples=2", "explain.smoothing=2",
                     "explain.integrating=[3,2]", "tracking.experiment=direct")
    assert result.returncode == 0, result.stderr[-3000:]
    # the closing table: a row per method, a column per metric
    assert re.search(r"^  gradcam +~?\d", result.stdout, re.M)
    assert re.search(r"^  occlusion +~?\d", result.stdout, re.M) and "insertion_auc" in result.stdout


def test_explain_run_refuses_what_it_cannot_do(home):
    result = run_cli("explain", "explain_run=last")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"xaiexp: error: explain_run: no MLflow store at sqlite:///{home}/outputs/mlflow.db")
    result = run_cli("explain_run=last")
    assert result.returncode == 2 and "explain_run: is for `xaiexp explain`" in result.stderr
    result = run_cli("explain", "model=saved", "model.path=/no/such/model.keras")
    assert result.returncode == 2 and "model.path: /no/such/model.keras" in result.stderr
