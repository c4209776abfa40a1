"""MLflow tracking against a real SQLite store in a temporary folder."""

import mlflow
import pytest

from tests.support.tiny_estimator import make_estimator
from xaiexp.tracking import MLflowTrace, TrackingTarget, mlflow_run


@pytest.fixture
def target(tmp_path):
    return TrackingTarget.embedded(tmp_path)


def runs(target):
    return mlflow.MlflowClient(target.uri).search_runs(
        [e.experiment_id for e in mlflow.MlflowClient(target.uri).search_experiments()])


def test_embedded_store_is_absolute_and_under_outputs(tmp_path):
    target = TrackingTarget.embedded(tmp_path)
    assert target.uri == f"sqlite:///{tmp_path}/outputs/mlflow.db"
    assert target.artifact_root == (tmp_path / "outputs" / "mlartifacts").as_uri()


def test_a_run_logs_params_tags_and_stepped_metrics(target):
    estimator, _ = make_estimator(epochs=2, log_steps=2, traces=lambda model: [MLflowTrace()])
    with mlflow_run(target, "demo", run_name="tiny", params={"epochs": 2, "schedule.init_lr": 1e-3},
                    tags={"xaiexp.overrides": "epochs=2"}) as active:
        estimator.fit()
        estimator.test()
    (run,) = runs(target)
    assert run.info.run_id == active.info.run_id and run.info.status == "FINISHED"
    assert run.info.run_name == "tiny"
    assert run.data.params == {"epochs": "2", "schedule.init_lr": "0.001"}
    assert run.data.tags["xaiexp.overrides"] == "epochs=2"
    client = mlflow.MlflowClient(target.uri)
    train_steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/ce")]
    assert train_steps == [1, 2, 4, 6, 8, 10, 12]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/accuracy")] == [6, 12]
    assert {"train/steps/sec", "train/epoch_time", "eval/ce", "test/accuracy", "test/ce"} <= set(run.data.metrics)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "demo"
    assert experiment.artifact_location.startswith(target.artifact_root)


def test_an_exception_ends_the_run_failed_with_the_reason(target):
    with pytest.raises(RuntimeError), mlflow_run(target, "demo"):
        raise RuntimeError("loss is NaN")
    (run,) = runs(target)
    assert run.info.status == "FAILED"
    assert run.data.tags["xaiexp.error"] == "RuntimeError: loss is NaN"


def test_ctrl_c_ends_the_run_killed(target):
    with pytest.raises(KeyboardInterrupt), mlflow_run(target, "demo"):
        raise KeyboardInterrupt
    (run,) = runs(target)
    assert run.info.status == "KILLED"

