"""``xaiexp explain explain_run=<run>``: the trained run's own config (dataset, masks, image size,
explain settings), with this command's overrides of it.

Hydra composes the command's own keys alone (where to log, the traces); every other
``key=value`` changes the run's logged config, so it is checked against that config (a folder
run's ``dataset.masks=...``), not against the default one.
"""

from omegaconf import DictConfig, OmegaConf

from xaiexp.app.config.stored import read_stored
from xaiexp.architecture.tensorflow.saved import SavedModelConfig
from xaiexp.util.errors import ConfigError

# Keys the command sets itself: where to log, the traces (whose values the run's logged config
# holds resolved, so that explain.* overrides would not reach them), and the command's switches.
COMMAND_KEYS = ("tracking", "debug", "explain_run", "traces")


def split_overrides(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(the overrides Hydra composes, those of the run's config) of an ``xaiexp explain`` command;
    without an ``explain_run=<run>`` all are Hydra's."""
    from hydra.core.override_parser.overrides_parser import OverridesParser  # not for --help

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    if not any(o.key_or_group == "explain_run" and (o.is_sweep_override() or o.value() is not None)
               for o in parsed if not o.is_delete()):
        return list(overrides), []
    own = [o.input_line for o in parsed if _is_commands(o.key_or_group)]
    return own, [o.input_line for o in parsed if not _is_commands(o.key_or_group)]


def _is_commands(key):
    return key.split(".")[0] in COMMAND_KEYS or key.startswith("hydra")


def source_config(source, cfg: DictConfig, overrides: list[str], trusted: frozenset) -> DictConfig:
    """The config ``source`` (a SourceRun) logged, read as stored data (``read_stored``) with its
    logged model and this command's keys (``cfg``'s COMMAND_KEYS), then ``overrides`` applied
    (``key=value`` ones: a group choice like ``dataset=folder`` would discard the run's)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    logged = source.config
    if isinstance(logged, dict):  # the model is the one the run logged, not its recipe
        recipe = logged.get("model")
        logits = bool(recipe.get("logits", False)) if isinstance(recipe, dict) else False
        logged = {**logged, "model": {"_target_": SavedModelConfig._target_, "path": source.model_path,
                                      "logits": logits}}  # what the saved model outputs
    config = read_stored(logged, source.run_id, "explain_run",
                         {key: cfg[key] for key in COMMAND_KEYS}, trusted)
    repository = GlobalHydra.instance().config_loader().repository
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if (repository.group_exists(key) or override.is_delete() or override.is_add()
                or override.is_sweep_override()):
            raise ConfigError(key, "with explain_run, set keys of the run's config (e.g. "
                                   "dataset.masks=... or explain.samples=8): no group choices, "
                                   "sweeps, additions or removals")
        OmegaConf.update(config, key, override.value(), merge=False)
    return config


def inherited_params(params: dict) -> dict:
    """The params of the explained run that describe its model and data (its dataset and model
    choices, its keys set by overrides), without those the explanation's command sets itself."""
    return {key: value for key, value in params.items() if not _is_commands(key)}
