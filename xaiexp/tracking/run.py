"""One MLflow run per job, always ended FINISHED, FAILED or KILLED (never left RUNNING)."""

import contextlib

import mlflow
from mlflow.entities import Param, RunTag

from xaiexp.util.util import safe_name


def as_params(values):
    """MLflow params (values cut to MLflow's 6000-character limit)."""
    return [Param(key, str(value)[:6000]) for key, value in values.items()]


def as_tags(values):
    """MLflow tags (values cut to 8000 characters)."""
    return [RunTag(key, str(value)[:8000]) for key, value in values.items()]


def experiment_id(client, name, artifact_root=None):
    """The id of experiment ``name``, created (with its artifacts under ``artifact_root``) if new."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = f"{artifact_root.rstrip('/')}/{safe_name(name)}" if artifact_root else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:  # created meanwhile by a parallel job
        return client.get_experiment_by_name(name).experiment_id


@contextlib.contextmanager
def mlflow_run(target, experiment, run_name=None, params=None, tags=None, parent_run_id=None,
               run_id=None):
    """Start a run in ``experiment`` on ``target`` (a TrackingTarget) and make it active; with
    ``run_id``, reopen that run instead (resuming it: its params are already logged).

    Params and tags are sent in batches. The run ends FINISHED, KILLED on Ctrl-C/SIGTERM
    (KeyboardInterrupt, SystemExit) or FAILED on any other exception, with the error's type and
    message as the ``xaiexp.error`` tag.
    """
    target.ensure_store()
    mlflow.set_tracking_uri(target.uri)
    client = mlflow.MlflowClient(target.uri)
    if run_id:
        run, params = mlflow.start_run(run_id=run_id), {}
    else:
        run = mlflow.start_run(experiment_id=experiment_id(client, experiment, target.artifact_root),
                               run_name=run_name, parent_run_id=parent_run_id,
                               nested=parent_run_id is not None)
    try:
        client.log_batch(run.info.run_id, params=as_params(params or {}), tags=as_tags(tags or {}))
        yield run
    except (KeyboardInterrupt, SystemExit) as stop:
        client.set_tag(run.info.run_id, "xaiexp.error", f"{type(stop).__name__}: interrupted")
        mlflow.end_run(status="KILLED")
        raise
    except BaseException as error:
        client.set_tag(run.info.run_id, "xaiexp.error", f"{type(error).__name__}: {error}"[:5000])
        mlflow.end_run(status="FAILED")
        raise
    else:
        mlflow.end_run(status="FINISHED")


def log_metrics(values):
    """Numbers of the active run that no trace logs (e.g. the shortcut check's accuracy gap)."""
    mlflow.log_metrics(values)


def set_tags(values):
    """Tags of the active run (e.g. why its objective does not count)."""
    mlflow.set_tags(values)


def log_dict(dictionary, artifact_file):
    """A dict as a YAML/JSON artifact of the active run (format from the file's extension)."""
    mlflow.log_dict(dictionary, artifact_file)


def log_artifacts(local_dir, artifact_path):
    """A local folder's files under ``artifact_path`` of the active run."""
    mlflow.log_artifacts(local_dir, artifact_path)


def log_artifact(local_path):
    """One local file at the top of the active run's artifacts."""
    mlflow.log_artifact(local_path)
