"""Hydra callbacks: a multirun becomes one MLflow parent run with a child run per job."""

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from xaiexp.app.config.params import flatten, sweep_name
from xaiexp.app.sweep.search_keys import searchable
from xaiexp.app.config.tracked import experiment_name, tracking_target


def job_config(config) -> dict:
    """The flattened config without Hydra's node, its interpolations left as written (they may
    name values only a job knows)."""
    return flatten({key: value for key, value in OmegaConf.to_container(config, resolve=False).items()
                    if key != "hydra"})


class MLflowSweepCallback(Callback):
    """Opens the parent run before the first job and closes it, with the best child, after the
    last. Jobs find the parent through the environment (see xaiexp.tracking.sweep)."""

    def on_multirun_start(self, config, **kwargs):
        if not config.tracking.enabled:
            return
        from xaiexp.tracking.sweep import start_sweep

        overrides = list(config.hydra.overrides.task)
        params, _ = searchable({key: value for key, value in (config.hydra.sweeper.get("params") or {}).items()
                                if value is not None}, config)  # what the sweeper will search
        parsed = OverridesParser.create().parse_overrides(overrides)
        swept = [o.key_or_group for o in parsed if o.is_sweep_override()] + list(params)
        definition = {"sweep.overrides": " ".join(overrides),
                      "sweep.sweeper": config.hydra.sweeper.get("_target_", ""),
                      "sweep.launcher": config.hydra.launcher.get("_target_", ""),
                      "sweep.objective": config.objective.metric,
                      "sweep.direction": getattr(config.objective.direction, "value", config.objective.direction)}
        if params:
            definition["sweep.params"] = OmegaConf.to_yaml(params)
        start_sweep(tracking_target(config), experiment_name(config),
                    sweep_name(job_config(config), dict(config.hydra.runtime.choices), overrides, swept),
                    definition, swept, folder=config.hydra.sweep.dir)

    def on_multirun_end(self, config, **kwargs):
        if not config.tracking.enabled:
            return
        from xaiexp.tracking.sweep import finish_sweep

        direction = config.objective.direction
        finish_sweep(config.objective.metric, getattr(direction, "value", direction))
