"""One MLflow run per job, always ended FINISHED, FAILED or KILLED: by its process, or, if that
was killed outright, by the next start on it (see dead_runs)."""

import contextlib
import time

import mlflow
from mlflow.entities import Metric, Param, RunTag

from xaiexp.tracking.dead_runs import mark_dead_runs, recount_ended_parent
from xaiexp.tracking.limits import MAX_PARAM_VALUE, MAX_TAG_VALUE
from xaiexp.tracking.outbox import Outbox, bound_failures, outbox_folder
from xaiexp.tracking.ownership import RunOwnership
from xaiexp.util.errors import ConfigError
from xaiexp.util.util import safe_name


def as_params(values):
    """MLflow params (values cut to MLflow's limit)."""
    return [Param(key, str(value)[:MAX_PARAM_VALUE]) for key, value in values.items()]


def as_tags(values):
    """MLflow tags (values cut to MLflow's limit)."""
    return [RunTag(key, str(value)[:MAX_TAG_VALUE]) for key, value in values.items()]


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
               run_id=None, output_dir=None):
    """Start a run in ``experiment`` on ``target`` (a TrackingTarget) and make it active; with
    ``run_id``, reopen that run instead (resuming it: its params are already logged).

    With ``output_dir`` (the run's folder: checkpoint, outputs) this process owns the run while
    it is active (see RunOwnership), what it cannot send to a server that went away waits in
    ``<output_dir>/tracking_outbox``, and a new run first settles the experiment's runs whose
    process died. Params and tags are sent in batches. The run ends FINISHED, KILLED on
    Ctrl-C/SIGTERM (KeyboardInterrupt, SystemExit) or FAILED on any other exception, with the
    error's type and message as the ``xaiexp.error`` tag. A resumed sweep job that finishes
    counts its sweep's children again, when that sweep has ended.
    """
    target.ensure_store()
    bound_failures()
    mlflow.set_tracking_uri(target.uri)
    client = mlflow.MlflowClient(target.uri)
    with _owned(output_dir, "resume" if run_id else "hydra.run.dir") as owner:
        tags = {**(tags or {}), **({"xaiexp.owner": owner} if owner else {})}
        if run_id:
            run, params = mlflow.start_run(run_id=run_id), {}
        else:
            experiment = experiment_id(client, experiment, target.artifact_root)
            mark_dead_runs(client, experiment)
            run = mlflow.start_run(experiment_id=experiment, run_name=run_name,
                                   parent_run_id=parent_run_id, nested=parent_run_id is not None)
        with _ended(run, output_dir, resumed=bool(run_id)):
            client.log_batch(run.info.run_id, params=as_params(params or {}), tags=as_tags(tags))
            yield run


@contextlib.contextmanager
def _owned(output_dir, key):
    """Hold the run in ``output_dir`` for this process (yields who that is), or refuse naming
    config ``key``; with no ``output_dir``, nothing (yields None)."""
    if not output_dir:
        yield None
        return
    owner = RunOwnership(output_dir)
    if not owner.acquire():
        raise ConfigError(key, f"{output_dir} belongs to a run that is still alive "
                               f"({owner.who()}); wait for it or stop it first")
    try:
        yield owner.who()
    finally:
        owner.release()


@contextlib.contextmanager
def _ended(run, output_dir, resumed):
    """End ``run`` FINISHED, KILLED or FAILED by how the block exits (through its Outbox, so
    that a server that went away gets the status when it is back)."""
    outbox = Outbox.of(run.info.run_id, output_dir and outbox_folder(output_dir))
    try:
        yield
    except (KeyboardInterrupt, SystemExit) as stop:
        outbox.fail("KILLED", f"{type(stop).__name__}: interrupted")
        raise
    except BaseException as error:
        outbox.fail("FAILED", f"{type(error).__name__}: {error}"[:5000])
        raise
    else:
        if outbox.end("FINISHED") and resumed:
            recount_ended_parent(outbox.client, run.info.run_id)


def _outbox():
    """The active run's Outbox: what it cannot send while a server is away waits there."""
    return Outbox.of(mlflow.active_run().info.run_id)


def log_metrics(values):
    """Numbers of the active run that no trace logs (e.g. the shortcut check's accuracy gap)."""
    now = int(time.time() * 1000)
    _outbox().send_metrics(Metric(key, float(value), now, 0) for key, value in values.items())


def set_tags(values):
    """Tags of the active run (e.g. why its objective does not count)."""
    _outbox().set_tags(values)


def log_dict(dictionary, artifact_file):
    """A dict as a YAML/JSON artifact of the active run (format from the file's extension)."""
    _outbox().call(lambda: mlflow.log_dict(dictionary, artifact_file), skippable=True)


def log_artifacts(local_dir, artifact_path):
    """A local folder's files under ``artifact_path`` of the active run."""
    _outbox().call(lambda: mlflow.log_artifacts(local_dir, artifact_path), skippable=True)


def log_artifact(local_path):
    """One local file at the top of the active run's artifacts."""
    _outbox().call(lambda: mlflow.log_artifact(local_path), skippable=True)
