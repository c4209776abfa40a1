"""Config -> library objects: the seed tutorial's script, written by the config.

Every group that makes an object is a ``_target_`` node built with ``hydra.utils.instantiate``;
the runner adds what only it knows (``RUNNER_ARGUMENTS``: the dataset's input shape and class
count for the model, the run's length for the schedule) when the target accepts it. Everything
else is the public API (Pipeline, build, Network, Estimator, traces) with plain arguments.
"""

import functools
import os

import keras
import numpy as np
from hydra.utils import get_object, instantiate

from xaiexp.app.pruning import trial_traces
from xaiexp.app.schema import MLFLOW_TRACE, TRACE_DIRECTORIES, plain_value
from xaiexp.app.targets import signature
from xaiexp.app.validate import dataset_keys, resolved, target_arguments
from xaiexp.distribute import get_strategy
from xaiexp.estimator import Estimator, TraceInputError
from xaiexp.network import Network, build
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.pipeline import Pipeline
from xaiexp.util.errors import ConfigError


def instantiate_group(node, group, **supplied):
    """``node``'s target called with its arguments, plus those of ``supplied`` (runner-known
    values, see RUNNER_ARGUMENTS) that the target takes."""
    get_object(node._target_)  # import it, so its signature is read from the live object
    params = signature(node._target_)
    accepted = {k: v for k, v in supplied.items() if params is None or params.accepts(k)}
    arguments = resolved(node, ["_target_", *target_arguments(node, group)])
    return instantiate(arguments, **accepted, _convert_="all")


def load_datasets(cfg):
    """(train, eval, test) datasets of ``cfg.dataset``; test is split off eval unless the loader
    returns one."""
    own = dataset_keys(cfg.dataset)
    train, evaluation, *test = instantiate_group(cfg.dataset, "dataset", test_split=own.test_split)
    test = test[0] if test else evaluation.split(own.test_split, seed=cfg.seed)
    if own.class_names:
        mapping = {name: label for label, name in enumerate(own.class_names)}
        for dataset in (train, evaluation, test):
            dataset.label_mapping = mapping
    return train, evaluation, test


def normalize_op(cfg):
    """The dataset's Normalize op, or None when it has none."""
    normalize = dataset_keys(cfg.dataset).normalize
    return None if normalize is None else Normalize(
        inputs="x", outputs="x", mean=tuple(normalize.mean), std=tuple(normalize.std),
        max_pixel_value=normalize.max_pixel_value)


def make_pipeline(cfg, **datasets):
    """A Pipeline of ``datasets`` (train_data, eval_data, test_data) with the dataset's Normalize."""
    normalize = normalize_op(cfg)
    ops = [] if normalize is None else [normalize]
    return Pipeline(**datasets, batch_size=cfg.batch_size, seed=cfg.seed, ops=ops)


def black_pixel(cfg):
    """A black pixel (0 in every channel) as the model sees it: the dataset's Normalize of it,
    one value per channel (0.0 without Normalize). The faithfulness metrics' "black" baseline."""
    normalize = normalize_op(cfg)
    if normalize is None:
        return 0.0
    channels = max(normalize.mean.size, normalize.std.size)
    return normalize.forward(np.zeros(channels, np.float32), None).tolist()


def make_model(cfg, train, strategy=None):
    """``cfg.model`` for ``train``'s images and classes, with ``cfg.optimizer`` attached (in
    ``strategy``'s scope, for data-parallel training)."""
    return build(model_fn=functools.partial(instantiate_group, cfg.model, "model",
                                            input_shape=tuple(train.shape("x")),
                                            classes=len(train.label_mapping)),
                 optimizer_fn=functools.partial(instantiate_group, cfg.optimizer, "optimizer"),
                 strategy=strategy, precision=plain_value(cfg.precision))


def make_network(model, train):
    """The tutorial's Network: the model's predictions and their cross-entropy, and with
    ``train`` the update step."""
    update = [UpdateOp(model=model, loss_name="ce")] if train else []
    return Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                        CrossEntropy(inputs=("y_pred", "y"), outputs="ce"), *update])


def make_traces(cfg, output_dir, model, train, lr_fn):
    """{name: trace} of ``cfg.traces`` in order, given what only the runner knows (a trace that
    takes ``saliency`` gets the trace built from ``traces.saliency``, if any). Skipped:
    null entries, traces.saliency while explain.enabled is false (``explain=none``), MLflow
    traces while tracking is off. A relative save_dir/log_dir is under ``output_dir``."""
    decoy_masks = "decoy_mask" in train.keys
    if decoy_masks and cfg.decoy is not None:
        raise ConfigError("decoy", "the dataset has decoy masks of its own (decoy_mask); give "
                                   "them or a decoy region, not both")
    supplied = {"model": model, "lr_fn": lr_fn, "label_mapping": train.label_mapping,
                "mask_key": "mask" if "mask" in train.keys else None,
                "decoy_key": "decoy_mask" if decoy_masks else None, "black": black_pixel(cfg)}
    traces = {}
    for name, node in cfg.traces.items():
        if node is None or (name == "saliency" and not cfg.explain.enabled) or (
                node._target_ == MLFLOW_TRACE and not cfg.tracking.enabled):
            continue
        directories = {key: os.path.join(output_dir, os.path.expanduser(node[key]))
                       for key in TRACE_DIRECTORIES if node.get(key) is not None}
        traces[name] = instantiate_group(node, "traces", **supplied, **directories,
                                         saliency=traces.get("saliency"))
    return traces


def make_estimator(cfg, pipeline, network, traces, **options):
    """The Estimator, its traces' inputs checked: a key nothing writes is a ConfigError naming
    the trace's entry (before any training or MLflow run)."""
    try:
        return Estimator(pipeline=pipeline, network=network, traces=list(traces.values()),
                         log_steps=cfg.log_steps, **options)
    except TraceInputError as error:
        name = next(name for name, trace in traces.items() if trace is error.trace)
        raise ConfigError(f"traces.{name}", str(error)) from None


def build_experiment(cfg, output_dir):
    """The seed tutorial's objects, built from the config; returns (estimator, model)."""
    strategy = get_strategy(plain_value(cfg.distribute))  # first: multi_worker must precede any op
    keras.utils.set_random_seed(cfg.seed)
    train, evaluation, test = load_datasets(cfg)
    pipeline = make_pipeline(cfg, train_data=train, eval_data=evaluation, test_data=test)
    model = make_model(cfg, train, strategy)
    network = make_network(model, train=True)
    lr_fn = instantiate_group(cfg.schedule, "schedule",
                              total_steps=cfg.epochs * pipeline.steps_per_epoch("train"))
    traces = make_traces(cfg, output_dir, model, train, lr_fn)
    traces |= trial_traces(cfg)  # a trial of an Optuna sweep: report each epoch, maybe prune
    estimator = make_estimator(cfg, pipeline, network, traces, epochs=cfg.epochs,
                               checkpoint_dir=os.path.join(output_dir, "checkpoint"))
    return estimator, model
