"""Config -> objects -> run. With cli.py and config.py, the only code that knows Hydra.

Everything is built through the public API (Pipeline, build, Network, Estimator, traces), so a
config is just a second way to write the seed tutorial's script.
"""

import functools
import math
import os
import subprocess
import sys
import tempfile

import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

import xaiexp
from xaiexp.architecture.tensorflow import CNN, LeNet
from xaiexp.config import plain_value, project_root
from xaiexp.dataset.data import cifar10, fashion_mnist, mnist, npz, shapes
from xaiexp.distribute import get_strategy, is_chief
from xaiexp.estimator import Estimator
from xaiexp.network import Network, build
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.pipeline import Pipeline
from xaiexp.schedule import cosine_decay
from xaiexp.shortcut import accuracy_gap
from xaiexp.shortcut import describe as describe_shortcut
from xaiexp.trace.adapt import LRScheduler
from xaiexp.trace.io import BestModelSaver
from xaiexp.trace.metric import Accuracy
from xaiexp.trace.xai import Saliency


ARCHITECTURES = {"lenet": LeNet, "cnn": CNN}
OPTIMIZERS = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
              "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def load_datasets(cfg):
    """(train, eval, test) NumpyDatasets for ``cfg.dataset``; test is split off eval."""
    data = cfg.dataset
    name = plain_value(data.name)
    if name == "shapes":
        train, evaluation = shapes.load_data(n_train=data.n_train, n_eval=data.n_eval,
                                             image_size=data.image_size, seed=cfg.seed,
                                             shortcut=data.shortcut)
    elif name == "npz":
        train, evaluation = npz.load_data(os.path.expanduser(data.path), seed=cfg.seed)
    else:
        loader = {"cifar10": cifar10, "mnist": mnist, "fashion_mnist": fashion_mnist}[name]
        train, evaluation = loader.load_data(path=os.path.expanduser(data.path) if data.path else None)
    test = evaluation.split(data.test_split, seed=cfg.seed)
    if name == "shapes" and data.shortcut:
        shapes.break_shortcut(test, seed=cfg.seed)
    if data.class_names:
        mapping = {name: label for label, name in enumerate(data.class_names)}
        for dataset in (train, evaluation, test):
            dataset.label_mapping = mapping
    return train, evaluation, test


def learning_rate_schedule(cfg, total_steps):
    """``lr_fn(step)`` for the LRScheduler, or None for a constant rate."""
    schedule = cfg.schedule
    if plain_value(schedule.name) == "constant":
        return None
    return functools.partial(cosine_decay, cycle_length=schedule.cycle_length or total_steps,
                             init_lr=schedule.init_lr, min_lr=schedule.min_lr,
                             cycle_multiplier=schedule.cycle_multiplier)


def build_experiment(cfg, output_dir, extra_traces=()):
    """The seed tutorial's objects, built from the config; returns (estimator, model)."""
    strategy = get_strategy(plain_value(cfg.distribute))  # first: multi_worker must precede any op
    keras.utils.set_random_seed(cfg.seed)
    train, evaluation, test = load_datasets(cfg)
    normalize = cfg.dataset.normalize
    pipeline = Pipeline(train_data=train, eval_data=evaluation, test_data=test,
                        batch_size=cfg.batch_size, seed=cfg.seed,
                        ops=[Normalize(inputs="x", outputs="x", mean=tuple(normalize.mean),
                                       std=tuple(normalize.std),
                                       max_pixel_value=normalize.max_pixel_value)])
    architecture = ARCHITECTURES[plain_value(cfg.model.name)]
    options = {"dropout": cfg.model.dropout} if architecture is CNN else {}
    model = build(model_fn=functools.partial(architecture, input_shape=train.data["x"].shape[1:],
                                             classes=len(train.label_mapping),
                                             width=cfg.model.width, **options),
                  optimizer_fn=functools.partial(OPTIMIZERS[plain_value(cfg.schedule.optimizer)],
                                                 learning_rate=cfg.schedule.init_lr),
                  strategy=strategy)
    network = Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                           CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                           UpdateOp(model=model, loss_name="ce")])
    traces = [Accuracy(true_key="y", pred_key="y_pred"),
              BestModelSaver(model=model, save_dir=os.path.join(output_dir, "model"),
                             metric="accuracy", save_best_mode="max")]
    lr_fn = learning_rate_schedule(cfg, cfg.epochs * pipeline.steps_per_epoch("train"))
    if lr_fn is not None:
        traces.append(LRScheduler(model=model, lr_fn=lr_fn))
    if cfg.explain.enabled:
        integrating = tuple(cfg.explain.integrating) if len(cfg.explain.integrating) > 1 \
            else cfg.explain.integrating[0]
        traces.append(Saliency(model=model, model_inputs="x", model_outputs="y_pred", class_key="y",
                               label_mapping=train.label_mapping, samples=cfg.explain.samples,
                               smoothing=cfg.explain.smoothing, integrating=integrating,
                               chunk_size=cfg.explain.chunk_size, seed=cfg.seed,
                               methods=[plain_value(m) for m in cfg.explain.methods],
                               occlusion=(cfg.explain.occlusion.patch, cfg.explain.occlusion.stride),
                               mask_key="mask" if "mask" in train.data else None,
                               decoy_key="decoy_mask" if "decoy_mask" in train.data else None,
                               metrics=[plain_value(m) for m in cfg.explain.metrics]))
    estimator = Estimator(pipeline=pipeline, network=network, epochs=cfg.epochs,
                          traces=[*traces, *extra_traces], log_steps=cfg.log_steps,
                          checkpoint_dir=os.path.join(output_dir, "checkpoint"))
    return estimator, model


def flatten(config, prefix=""):
    """{"schedule": {"init_lr": 1e-3}} -> {"schedule.init_lr": 1e-3}"""
    flat = {}
    for key, item in config.items():
        if isinstance(item, dict):
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


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


def train_and_test(estimator, resume=False):
    """fit() (from the checkpoint when resuming) then test(); the final logs by mode."""
    return {"eval": estimator.fit(resume=resume), "test": estimator.test()}


def report_shortcut(cfg, logs):
    """On ``dataset.shortcut``: print the shortcut check's verdict and return the metrics to log
    (else {})."""
    if not (plain_value(cfg.dataset.name) == "shapes" and cfg.dataset.shortcut):
        return {}
    print(f"xaiexp: {describe_shortcut(logs)}", file=sys.stderr)
    return {"shortcut/accuracy_gap": accuracy_gap(logs)}


def run_tags(hydra, parent):
    """What a run records about how it was started."""
    tags = {"xaiexp.version": xaiexp.__version__,
            "xaiexp.overrides": " ".join(hydra.overrides.task) if hydra else ""}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if parent:
        tags["xaiexp.job_num"] = hydra.job.num
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
    if not cfg.tracking.enabled or not chief:
        estimator, _ = build_experiment(cfg, output_dir)
        logs = train_and_test(estimator, resume=bool(resume))
        report_shortcut(cfg, logs)
        return objective(cfg, logs)

    from xaiexp.tracking import MLflowTrace, TrackingTarget, mlflow_run
    from xaiexp.tracking.run import log_artifacts, log_dict, log_metrics, set_tags
    from xaiexp.tracking.sweep import OBJECTIVE_UNMET, PARENT_RUN_ID, child_run_name

    tracker = MLflowTrace()
    estimator, _ = build_experiment(cfg, output_dir, extra_traces=[tracker])
    target = TrackingTarget.from_config(cfg.tracking.uri, project_root())
    parent = os.environ.get(PARENT_RUN_ID) if hydra and hydra.mode == RunMode.MULTIRUN else None
    tags = {**run_tags(hydra, parent), "xaiexp.output_dir": output_dir}
    run_name = (child_run_name(list(hydra.overrides.task)) or f"job {hydra.job.num}") if parent else cfg.name
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    with mlflow_run(target, cfg.tracking.experiment or cfg.name, run_name=run_name,
                    params=flatten(resolved), tags=tags, parent_run_id=parent,
                    run_id=resume.run_id if resume else None) as active:
        if not resume:
            log_dict(resolved, "config.yaml")  # first: an interrupted run can be resumed from it
            if hydra:
                log_artifacts(os.path.join(output_dir, ".hydra"), ".hydra")
        logs = train_and_test(estimator, resume=bool(resume))
        findings = report_shortcut(cfg, logs)
        if findings:
            log_metrics(findings)
        result = objective(cfg, logs)
        unmet = unmet_floor(cfg, logs)
        if unmet:
            set_tags({OBJECTIVE_UNMET: unmet})
        saver = next(t for t in estimator.traces if isinstance(t, BestModelSaver))
        if cfg.tracking.log_model and saver.model_path and os.path.exists(saver.model_path):
            log_artifacts(os.path.dirname(saver.model_path), "model")
    run_id, experiment = active.info.run_id, active.info.experiment_id
    print(f"xaiexp: run {run_id} finished in experiment {experiment} ({target.uri}).\n"
          f"xaiexp: browse it with `xaiexp ui`, then open "
          f"http://127.0.0.1:5000/#/experiments/{experiment}/runs/{run_id}", file=sys.stderr)
    return result
