"""``xaiexp explain``: saliency maps and their metrics for a trained model, no training.

The model is any ``model`` config (``model=saved model.path=...``, a pretrained backbone), or
the model a finished run logged (``explain_run=<run id>|last``), explained with that run's
config, so its probes, noise and maps are the ones its test epoch had.
"""

import sys

import keras
from omegaconf import OmegaConf

from xaiexp.app.build import load_datasets, make_model, make_pipeline, make_saliency
from xaiexp.app.run import flatten, run_tags
from xaiexp.app.schema import plain_value
from xaiexp.estimator import Estimator
from xaiexp.network import Network
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp
from xaiexp.trace.metric import Accuracy
from xaiexp.util.project import project_root


def explain(cfg, source=None):
    """Explain ``cfg.explain.split`` with the Saliency trace, logged as one MLflow run (tagged as
    an explanation of ``source``, a SourceRun, when given); returns the split's logs."""
    keras.utils.set_random_seed(cfg.seed)
    train, evaluation, test = load_datasets(cfg)
    split = {"train": train, "eval": evaluation, "test": test}[plain_value(cfg.explain.split)]
    model = make_model(cfg, train)
    network = Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                           CrossEntropy(inputs=("y_pred", "y"), outputs="ce")])
    traces = [Accuracy(true_key="y", pred_key="y_pred"), make_saliency(cfg, model, train)]

    def estimator(*extra_traces):
        return Estimator(pipeline=make_pipeline(cfg, test_data=split), network=network, epochs=1,
                         traces=[*traces, *extra_traces], log_steps=cfg.log_steps)

    if not cfg.tracking.enabled:
        return estimator().test()
    from xaiexp.tracking import MLflowTrace, TrackingTarget, mlflow_run
    from xaiexp.tracking.source import SOURCE_TAG, TASK_TAG

    target = TrackingTarget.from_config(cfg.tracking.uri, project_root())
    tags = {**run_tags(None, None), TASK_TAG: "explain"}
    if source:
        tags[SOURCE_TAG] = source.run_id
    with mlflow_run(target, cfg.tracking.experiment or cfg.name,
                    run_name=f"explain {source.run_name if source else cfg.name}",
                    params=flatten(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)),
                    tags=tags) as active:
        logs = estimator(MLflowTrace()).test()
    print(f"xaiexp: explanation run {active.info.run_id} finished in experiment "
          f"{active.info.experiment_id} ({target.uri}).", file=sys.stderr)
    return logs
