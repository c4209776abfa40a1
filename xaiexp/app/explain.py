"""``xaiexp explain``: saliency maps and their metrics for a trained model, no training.

The model is any ``model`` config (``model=saved model.path=...``, a pretrained backbone), or
the model a finished run logged (``explain_run=<run id>|last``), explained with that run's
config, so its probes, noise and maps are the ones its test epoch had.
"""

import tempfile

import keras
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from xaiexp.app.build import (instantiate_group, load_datasets, make_estimator, make_model,
                              make_network, make_pipeline, make_traces)
from xaiexp.app.params import run_name, run_params
from xaiexp.app.run import described, run_tags, say_where
from xaiexp.app.schema import plain_value
from xaiexp.util.project import project_root


def explain(cfg, source=None, output_dir=None):
    """Explain ``cfg.explain.split`` with the Saliency trace, logged as one MLflow run (tagged as
    an explanation of ``source``, a SourceRun, when given); returns the split's logs."""
    keras.utils.set_random_seed(cfg.seed)
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    output_dir = output_dir or (hydra.runtime.output_dir if hydra
                                else tempfile.mkdtemp(prefix="xaiexp-explain-"))
    train, evaluation, test = load_datasets(cfg)
    split = {"train": train, "eval": evaluation, "test": test}[plain_value(cfg.explain.split)]
    model = make_model(cfg, train)
    network = make_network(model, train=False)
    # the configured traces; test() runs those of the test mode (not the saver or scheduler)
    traces = make_traces(cfg, output_dir, model, train,
                         lr_fn=instantiate_group(cfg.schedule, "schedule", total_steps=1))
    estimator = make_estimator(cfg, make_pipeline(cfg, test_data=split), network, traces, epochs=1)
    if not cfg.tracking.enabled:
        return estimator.test()
    from xaiexp.tracking import TrackingTarget, mlflow_run
    from xaiexp.tracking.run import log_dict
    from xaiexp.tracking.source import SOURCE_TAG, TASK_TAG

    target = TrackingTarget.from_config(cfg.tracking.uri, project_root())
    tags = {**run_tags(hydra, None), TASK_TAG: "explain"}
    if source:
        tags[SOURCE_TAG] = source.run_id
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    with mlflow_run(target, cfg.tracking.experiment or cfg.name,
                    run_name=f"explain {source.run_name if source else run_name(*described(resolved, hydra))}",
                    params=run_params(*described(resolved, hydra)), tags=tags) as active:
        log_dict(resolved, "config.yaml")
        logs = estimator.test()
    say_where(target, active, "explanation run")
    return logs
