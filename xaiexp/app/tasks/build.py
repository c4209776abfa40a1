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

from xaiexp.app.tasks.data_line import describe_data
from xaiexp.app.tasks.model_outputs import PROBES, check_outputs
from xaiexp.app.sweep.pruning import trial_traces
from xaiexp.app.config.schema import EXPLAINED_TRACE, MLFLOW_TRACE, TRACE_DIRECTORIES, plain_value
from xaiexp.app.config.targets import import_target_module, named_targets, signature
from xaiexp.app.config.validate import dataset_keys, model_keys, resolved, target_arguments
from xaiexp.backend.distribute import get_strategy
from xaiexp.estimator import Estimator, TraceInputError
from xaiexp.network import Network, build
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.pipeline import Pipeline
from xaiexp.util.console import status
from xaiexp.util.errors import ConfigError


def instantiate_group(node, group, **supplied):
    """``node``'s target called with its arguments, plus those of ``supplied`` (runner-known
    values, see RUNNER_ARGUMENTS) that the target takes."""
    arguments = resolved(node, ["_target_", *target_arguments(node, group)])
    for _, target in named_targets(arguments):
        import_target_module(target)
    get_object(node._target_)  # import it, so its signature is read from the live object
    params = signature(node._target_)
    accepted = {k: v for k, v in supplied.items() if params is None or params.accepts(k)}
    return instantiate(arguments, **accepted, _convert_="all")


def load_datasets(cfg):
    """(train, eval, test) datasets of ``cfg.dataset``; test is split off eval unless the loader
    returns one. Says on the console what they hold."""
    own = dataset_keys(cfg.dataset)
    train, evaluation, *test = instantiate_group(cfg.dataset, "dataset", test_split=own.test_split)
    test = test[0] if test else evaluation.split(own.test_split, seed=cfg.seed)
    if own.class_names:
        mapping = {name: label for label, name in enumerate(own.class_names)}
        for dataset in (train, evaluation, test):
            dataset.label_mapping = mapping
    status(describe_data(cfg.dataset, train, evaluation, test))
    return train, evaluation, test


def normalize_op(cfg):
    """The dataset's Normalize op, or None when it has none."""
    normalize = dataset_keys(cfg.dataset).normalize
    return None if normalize is None else Normalize(
        inputs="x", outputs="x", mean=tuple(normalize.mean), std=tuple(normalize.std),
        max_pixel_value=normalize.max_pixel_value)


def make_pipeline(cfg, batch_size=None, **datasets):
    """A Pipeline of ``datasets`` (train_data, eval_data, test_data) with the dataset's Normalize,
    in batches of ``batch_size`` (default: the config's)."""
    normalize = normalize_op(cfg)
    ops = [] if normalize is None else [normalize]
    return Pipeline(**datasets, batch_size=batch_size or cfg.batch_size, seed=cfg.seed, ops=ops)


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
    ``strategy``'s scope, for data-parallel training), its inputs checked against the data and
    its outputs on a few of ``train``'s images (``model_outputs.check_outputs``)."""
    input_shape, classes = tuple(train.shape("x")), len(train.label_mapping)
    model = build(model_fn=functools.partial(instantiate_group, cfg.model, "model",
                                             input_shape=input_shape, classes=classes),
                  optimizer_fn=functools.partial(instantiate_group, cfg.optimizer, "optimizer"),
                  strategy=strategy, precision=plain_value(cfg.precision))
    check_model_fits(cfg.model, model, input_shape, classes)
    images = make_pipeline(cfg, batch_size=PROBES, train_data=train).get_results()["x"]
    check_outputs(cfg, model, images, classes)
    return model


def check_model_fits(node, model, input_shape, classes):
    """The model takes the dataset's images as its one input and has an output for each class
    (a saved model, or a user's builder that ignores ``input_shape``, may not): a ConfigError
    naming both shapes now, not TensorFlow's traceback in the first step."""
    key, name = ("model.path", node.path) if "path" in node else ("model", node._target_)
    inputs, outputs = _shapes(model, "inputs"), _shapes(model, "outputs")
    if inputs and len(inputs) != 1:
        raise ConfigError(key, f"{name} takes {len(inputs)} inputs ({', '.join(map(_wxh, inputs))}); xaiexp "
                               f"feeds a model one, the dataset's {_wxh(input_shape)} images")
    if inputs and not (len(inputs[0]) == len(input_shape)
                       and all(want in (None, have) for want, have in zip(inputs[0], input_shape))):
        raise ConfigError(key, f"{name} takes {_wxh(inputs[0])} inputs, but the dataset's images are "
                               f"{_wxh(input_shape)} (dataset.image_size resizes them)")
    units = outputs[0][-1] if len(outputs) == 1 and outputs[0] else None
    if units is not None and units < classes:
        raise ConfigError(key, f"{name} has {units} outputs, too few for the dataset's {classes} classes")


def _shapes(model, which):
    """The shapes, without the batch axis, of ``model.inputs`` or ``.outputs`` ([] if unknown:
    a subclassed model has none until called)."""
    try:
        return [tuple(tensor.shape[1:]) for tensor in getattr(model, which) or ()]
    except (AttributeError, ValueError):
        return []


def _wxh(shape):
    return "x".join("?" if size is None else str(size) for size in shape) or "scalar"


def make_network(model, train, from_logits=False):
    """The tutorial's Network: the model's predictions and their cross-entropy (of logits, with
    ``from_logits``), and with ``train`` the update step."""
    update = [UpdateOp(model=model, loss_name="ce")] if train else []
    return Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                        CrossEntropy(inputs=("y_pred", "y"), outputs="ce", from_logits=from_logits),
                        *update])


def make_traces(cfg, output_dir, model, train, lr_fn):
    """{name: trace} of ``cfg.traces`` in order, given what only the runner knows (a trace that
    takes ``saliency`` gets the trace built from ``traces.saliency``, if any). Skipped:
    null entries, the entry the explain block sets while explain.enabled is false (``explain=none``), MLflow
    traces while tracking is off. A relative save_dir/log_dir is under ``output_dir``."""
    decoy_masks = "decoy_mask" in train.keys
    if decoy_masks and cfg.decoy is not None:
        raise ConfigError("decoy", "the dataset has decoy masks of its own (decoy_mask); give "
                                   "them or a decoy region, not both")
    supplied = {"model": model, "lr_fn": lr_fn, "label_mapping": train.label_mapping,
                "mask_key": "mask" if "mask" in train.keys else None,
                "decoy_key": "decoy_mask" if decoy_masks else None,
                "from_logits": model_keys(cfg.model).logits, "black": black_pixel(cfg)}
    traces = {}
    for name, node in cfg.traces.items():
        if node is None or (name == EXPLAINED_TRACE and not cfg.explain.enabled) or (
                node._target_ == MLFLOW_TRACE and not cfg.tracking.enabled):
            continue
        directories = {key: os.path.join(output_dir, os.path.expanduser(node[key]))
                       for key in TRACE_DIRECTORIES if node.get(key) is not None}
        traces[name] = instantiate_group(node, "traces", **supplied, **directories,
                                         saliency=traces.get(EXPLAINED_TRACE))
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
    network = make_network(model, train=True, from_logits=model_keys(cfg.model).logits)
    lr_fn = instantiate_group(cfg.schedule, "schedule",
                              total_steps=cfg.epochs * pipeline.steps_per_epoch("train"))
    traces = make_traces(cfg, output_dir, model, train, lr_fn)
    traces |= trial_traces(cfg)  # a trial of an Optuna sweep: report each epoch, maybe prune
    estimator = make_estimator(cfg, pipeline, network, traces, epochs=cfg.epochs,
                               checkpoint_dir=os.path.join(output_dir, "checkpoint"))
    return estimator, model
