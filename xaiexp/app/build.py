"""Config -> library objects: the seed tutorial's script, written by the config.

Every group that makes an object is a ``_target_`` node built with ``hydra.utils.instantiate``;
the runner adds what only it knows (``RUNNER_ARGUMENTS``: the dataset's input shape and class
count for the model, the run's length for the schedule) when the target accepts it. Everything
else is the public API (Pipeline, build, Network, Estimator, traces) with plain arguments.
"""

import functools
import os

import keras
from hydra.utils import get_object, instantiate

from xaiexp.app.schema import plain_value
from xaiexp.app.targets import signature
from xaiexp.app.validate import dataset_keys, resolved, target_arguments
from xaiexp.distribute import get_strategy
from xaiexp.estimator import Estimator
from xaiexp.network import Network, build
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.pipeline import Pipeline
from xaiexp.trace.adapt import LRScheduler
from xaiexp.trace.io import BestModelSaver
from xaiexp.trace.metric import Accuracy
from xaiexp.trace.xai import Saliency


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


def make_pipeline(cfg, **datasets):
    """A Pipeline of ``datasets`` (train_data, eval_data, test_data) with the dataset's Normalize."""
    normalize = dataset_keys(cfg.dataset).normalize
    ops = [] if normalize is None else [
        Normalize(inputs="x", outputs="x", mean=tuple(normalize.mean), std=tuple(normalize.std),
                  max_pixel_value=normalize.max_pixel_value)]
    return Pipeline(**datasets, batch_size=cfg.batch_size, seed=cfg.seed, ops=ops)


def make_model(cfg, train, strategy=None):
    """``cfg.model`` for ``train``'s images and classes, with ``cfg.optimizer`` attached (in
    ``strategy``'s scope, for data-parallel training)."""
    return build(model_fn=functools.partial(instantiate_group, cfg.model, "model",
                                            input_shape=tuple(train.shape("x")),
                                            classes=len(train.label_mapping)),
                 optimizer_fn=functools.partial(instantiate_group, cfg.optimizer, "optimizer"),
                 strategy=strategy)


def make_saliency(cfg, model, train):
    """The Saliency trace that ``cfg.explain`` describes, for ``model`` and ``train``'s keys."""
    explain = cfg.explain
    integrating = tuple(explain.integrating) if len(explain.integrating) > 1 else explain.integrating[0]
    return Saliency(model=model, model_inputs="x", model_outputs="y_pred", class_key="y",
                    label_mapping=train.label_mapping, samples=explain.samples,
                    smoothing=explain.smoothing, integrating=integrating,
                    chunk_size=explain.chunk_size, seed=cfg.seed,
                    methods=[plain_value(m) for m in explain.methods],
                    occlusion=(explain.occlusion.patch, explain.occlusion.stride),
                    mask_key="mask" if "mask" in train.keys else None,
                    decoy_key="decoy_mask" if "decoy_mask" in train.keys else None,
                    metrics=[plain_value(m) for m in explain.metrics])


def build_experiment(cfg, output_dir, extra_traces=()):
    """The seed tutorial's objects, built from the config; returns (estimator, model)."""
    strategy = get_strategy(plain_value(cfg.distribute))  # first: multi_worker must precede any op
    keras.utils.set_random_seed(cfg.seed)
    train, evaluation, test = load_datasets(cfg)
    pipeline = make_pipeline(cfg, train_data=train, eval_data=evaluation, test_data=test)
    model = make_model(cfg, train, strategy)
    network = Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                           CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                           UpdateOp(model=model, loss_name="ce")])
    total_steps = cfg.epochs * pipeline.steps_per_epoch("train")
    traces = [Accuracy(true_key="y", pred_key="y_pred"),
              # test() and `xaiexp explain` see the best model, the one that is logged
              BestModelSaver(model=model, save_dir=os.path.join(output_dir, "model"),
                             metric="accuracy", save_best_mode="max", load_best_final=True),
              LRScheduler(model=model, lr_fn=instantiate_group(cfg.schedule, "schedule",
                                                               total_steps=total_steps))]
    if cfg.explain.enabled:
        traces.append(make_saliency(cfg, model, train))
    estimator = Estimator(pipeline=pipeline, network=network, epochs=cfg.epochs,
                          traces=[*traces, *extra_traces], log_steps=cfg.log_steps,
                          checkpoint_dir=os.path.join(output_dir, "checkpoint"))
    return estimator, model
