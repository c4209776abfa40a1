"""Run a composed config: train, evaluate, test, and track it all in one MLflow run."""

import math
import os
import socket
import subprocess
import sys
import tempfile

import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

import xaiexp
from xaiexp.app.tasks.build import build_experiment
from xaiexp.app.config.params import flatten, option_labels, run_name, run_params
from xaiexp.app.sweep.ray_launcher import NODE_ENV
from xaiexp.app.config.schema import plain_value
from xaiexp.app.config.tracked import experiment_name, tracking_target
from xaiexp.backend.devices import report_devices
from xaiexp.backend.distribute import is_chief
from xaiexp.trace.io import BestModelSaver
from xaiexp.trace.logger import Logger
from xaiexp.tracking.best import JOB_TAG, OBJECTIVE_UNMET
from xaiexp.util.console import log_path, status
from xaiexp.util.project import project_root


def git_commit():
    """The checkout's commit, when xaiexp runs from one."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def logged_value(logs, metric, key):
    """The final value of ``metric`` (``<mode>/<logged key>``), which config ``key`` names."""
    mode, _, name = metric.partition("/")
    if name not in logs[mode]:
        raise KeyError(f"{key} {metric!r} was not logged; {mode} has {sorted(logs[mode])}")
    return float(logs[mode][name])


def unmet_floor(cfg, logs):
    """Why the run misses ``objective.subject_to`` (e.g. "eval/accuracy 0.85 < 0.9"), or None."""
    floor = cfg.objective.subject_to
    if floor.at_least is None:
        return None
    reached = logged_value(logs, floor.metric, "objective.subject_to.metric")
    return None if reached >= floor.at_least else f"{floor.metric} {reached:.4g} < {floor.at_least:g}"


def objective(cfg, logs):
    """The value of ``cfg.objective.metric`` (e.g. ``eval/accuracy``) in the final logs; a sweep
    optimizes it. NaN or infinite raises, so the job (and its MLflow run) counts as failed. Below
    ``objective.subject_to``'s floor it is the worst value, so a sweeper steers away."""
    result = logged_value(logs, cfg.objective.metric, "objective.metric")
    if not math.isfinite(result):
        raise FloatingPointError(f"objective {cfg.objective.metric} is {result}")
    unmet = unmet_floor(cfg, logs)
    if unmet:
        print(f"xaiexp: {cfg.objective.metric} does not count: {unmet}", file=sys.stderr)
        return -math.inf if plain_value(cfg.objective.direction) == "maximize" else math.inf
    return result


def show_objective(estimator, cfg):
    """The console's epoch lines also show the objective and its floor's metric."""
    console = next(trace for trace in estimator.traces if isinstance(trace, Logger))
    for metric in (cfg.objective.metric, cfg.objective.subject_to.metric):
        console.headline.append(metric.partition("/")[2])


def train_and_test(estimator, resume=False):
    """fit() (from the checkpoint when resuming) then test(); the final logs by mode."""
    return {"eval": estimator.fit(resume=resume), "test": estimator.test()}


def node_name():
    """Where this job runs: its Ray node (set by xaiexp's Ray launcher), its Slurm node, or this
    machine's host name."""
    return os.environ.get(NODE_ENV) or os.environ.get("SLURMD_NODENAME") or socket.gethostname()


def run_tags(hydra, parent):
    """What a run records about how it was started."""
    tags = {"xaiexp.version": xaiexp.__version__,
            "xaiexp.node": node_name(),
            "xaiexp.overrides": " ".join(hydra.overrides.task) if hydra else ""}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if parent:
        tags[JOB_TAG] = hydra.job.num
    return tags


def run(cfg, resume=None):
    """Train, evaluate and test the configured experiment; returns the objective (by default
    the final eval accuracy), the value a sweeper optimizes. ``resume`` (a ResumePoint)
    continues an interrupted run from its checkpoint, into the same MLflow run."""
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    if resume:
        output_dir = resume.output_dir
    else:
        output_dir = hydra.runtime.output_dir if hydra else tempfile.mkdtemp(prefix="xaiexp-")
    chief = plain_value(cfg.distribute) != "multi_worker" or is_chief()
    if not chief:  # a multi_worker run's other workers train alongside, tracking nothing
        output_dir = tempfile.mkdtemp(prefix="xaiexp-worker-")
        cfg = OmegaConf.merge(cfg, {"tracking": {"enabled": False}})
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    labels = option_labels(*described(resolved, hydra))
    status(f"building data ({labels.get('dataset', 'as configured')}) and model "
           f"({labels.get('model', 'as configured')})…")
    estimator, model = build_experiment(cfg, output_dir)
    devices = report_devices(estimator.network)
    show_objective(estimator, cfg)
    if not cfg.tracking.enabled:
        return objective(cfg, train_and_test(estimator, resume=bool(resume)))

    from xaiexp.tracking import mlflow_run
    from xaiexp.tracking.run import log_artifact, log_artifacts, log_dict, set_tags
    from xaiexp.tracking.sweep import PARENT_RUN_ID, swept_keys

    target = tracking_target(cfg)
    parent = os.environ.get(PARENT_RUN_ID) if hydra and hydra.mode == RunMode.MULTIRUN else None
    tags = {**run_tags(hydra, parent), "xaiexp.output_dir": output_dir, "xaiexp.devices": devices}
    name = run_name(*described(resolved, hydra), swept=swept_keys() if parent else None)
    with mlflow_run(target, experiment_name(cfg), run_name=name or f"job {hydra.job.num}",
                    params=run_params(*described(resolved, hydra)), tags=tags, parent_run_id=parent,
                    run_id=resume.run_id if resume else None, output_dir=output_dir) as active:
        if not resume:
            log_dict(resolved, "config.yaml")  # first: an interrupted run can be resumed from it
            if hydra:
                log_artifacts(os.path.join(output_dir, ".hydra"), ".hydra")
        logs = train_and_test(estimator, resume=bool(resume))
        result = objective(cfg, logs)
        unmet = unmet_floor(cfg, logs)
        if unmet:
            set_tags({OBJECTIVE_UNMET: unmet})
        saver = next((t for t in estimator.traces if isinstance(t, BestModelSaver)), None)
        if cfg.tracking.log_model and saver and saver.model_path and os.path.exists(saver.model_path):
            log_artifacts(os.path.dirname(saver.model_path), "model")
        if log_path():
            log_artifact(log_path())  # the console so far: the run's own lines end it
    say_where(target, active, "run")
    return result


def described(resolved, hydra):
    """(flattened config, Hydra's group choices, the job's overrides): what ``run_params`` and
    ``run_name`` tell a run apart by."""
    return (flatten(resolved), dict(hydra.runtime.choices) if hydra else {},
            list(hydra.overrides.task) if hydra else [])


def say_where(target, active, what):
    """The closing lines: which ``what`` (run, explanation run) finished, in which store, and
    the link that opens it in the MLflow UI."""
    from xaiexp.tracking.ui.links import how_to_open, run_link

    run_id, experiment = active.info.run_id, active.info.experiment_id
    link = run_link(target.uri, experiment, run_id)
    print(f"xaiexp: {what} {run_id} finished in experiment {experiment} ({target.uri}).\n"
          f"xaiexp: {how_to_open(target.uri, link)}", file=sys.stderr)
