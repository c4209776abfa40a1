"""``xaiexp explain``: saliency maps and their metrics for a trained model, no training.

The model is any ``model`` config (``model=saved model.path=...``, a pretrained backbone), or
the model a finished run logged (``explain_run=<run id or prefix>|last``), explained with that
run's config (``xaiexp.app.tasks.explain_source``), so its probes, noise and maps are the ones its test
epoch had.
"""

import tempfile

import keras
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from xaiexp.app.tasks.build import (instantiate_group, load_datasets, make_estimator, make_model,
                              make_network, make_pipeline, make_traces)
from xaiexp.app.tasks.explain_source import COMMAND_KEYS, inherited_params
from xaiexp.app.config.params import run_name, run_params
from xaiexp.app.tasks.train import described, flatten, run_tags, say_where
from xaiexp.app.config.schema import plain_value
from xaiexp.app.config.tracked import experiment_name, tracking_target
from xaiexp.app.config.validate import model_keys


def explain(cfg, source=None, output_dir=None, overrides=()):
    """Explain ``cfg.explain.split`` with the Saliency trace, logged as one MLflow run (tagged as
    an explanation of ``source``, a SourceRun, when given, and logging its model and data's
    params; ``overrides``: this command's of its config); returns the split's logs.

    The split is run in its own mode, so the figures, metric keys and console lines of
    ``explain.split=eval`` say eval: they compare with a training run's eval epochs."""
    keras.utils.set_random_seed(cfg.seed)
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    output_dir = output_dir or (hydra.runtime.output_dir if hydra
                                else tempfile.mkdtemp(prefix="xaiexp-explain-"))
    train, evaluation, test = load_datasets(cfg)
    mode = plain_value(cfg.explain.split)
    model = make_model(cfg, train)
    network = make_network(model, train=False, from_logits=model_keys(cfg.model).logits)
    # the traces a test epoch runs (not the best-model saver, an eval one, or the lr scheduler)
    traces = {name: trace for name, trace in make_traces(
        cfg, output_dir, model, train, lr_fn=instantiate_group(cfg.schedule, "schedule", total_steps=1)
    ).items() if "test" in trace.mode}
    pipeline = make_pipeline(cfg, **{f"{mode}_data": {"eval": evaluation, "test": test}[mode]})
    estimator = make_estimator(cfg, pipeline, network, traces, epochs=1)
    if not cfg.tracking.enabled:
        return estimator.test(mode)
    from xaiexp.tracking import mlflow_run
    from xaiexp.tracking.run import log_dict
    from xaiexp.tracking.source import SOURCE_TAG, TASK_TAG

    target = tracking_target(cfg)
    overrides = [*(hydra.overrides.task if hydra else []), *overrides]
    tags = {**run_tags(hydra, None), TASK_TAG: "explain", "xaiexp.overrides": " ".join(overrides)}
    if source:
        tags[SOURCE_TAG] = source.run_id
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    with mlflow_run(target, experiment_name(cfg),
                    run_name=f"explain {source.run_name if source else run_name(*described(resolved, hydra))}",
                    params=_params(resolved, hydra, source, overrides), tags=tags) as active:
        log_dict(resolved, "config.yaml")
        logs = estimator.test(mode)
    say_where(target, active, "explanation run")
    return logs


def _params(resolved, hydra, source, overrides):
    """What sets the explanation run apart (see ``run_params``); with a ``source`` run, that
    run's choices and keys (its model's and data's names) in place of the groups this command
    leaves at their defaults."""
    choices = dict(hydra.runtime.choices) if hydra else {}
    if source is None:
        return run_params(flatten(resolved), choices, overrides)
    own = {group: option for group, option in choices.items() if group in COMMAND_KEYS}
    return {**inherited_params(source.params), **run_params(flatten(resolved), own, overrides)}
