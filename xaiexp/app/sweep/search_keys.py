"""Which keys of a sweep's search space the composed config has.

A preset is written for xaiexp's own models: conf/hparams_search/optuna.yaml searches
``model.width``, which a user's model need not take. Its keys that the composed config lacks are
left out of the search (the sweeper says which, in one line), so the preset sweeps what the chosen
model and dataset have. A key the command line itself names for the search and the config lacks
is a mistake (a typo, a key of another model): refused in one line before the sweep starts, as a
wrong key of a grid's jobs is.
"""

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from xaiexp.util.errors import ConfigError

PARAMS = "hydra.sweeper.params"  # the search space of the Optuna sweeper (xaiexp/app/sweep/optuna_sweeper.py)
_ABSENT = object()


def has_key(cfg, key: str) -> bool:
    """Whether the composed ``cfg`` (with its ``hydra`` node) has config key or group ``key``;
    a ``+key`` is added by the override, so it need not be there."""
    if key.startswith("+") or key in _choices(cfg):
        return True
    return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_resolution_failure=False) is not _ABSENT


def searchable(space: dict, cfg) -> tuple[dict, list[str]]:
    """(the entries of ``space``, key: sweep grammar, whose key ``cfg`` has, the keys it lacks)."""
    kept = {key: value for key, value in space.items() if has_key(cfg, key)}
    return kept, [key for key in space if key not in kept]


def _choices(cfg) -> dict:
    """Hydra's group choices of the composed ``cfg`` ({} for a config Hydra did not compose)."""
    return OmegaConf.select(cfg, "hydra.runtime.choices", default=None) or {}


def named_for_search(overrides: list[str]) -> list[str]:
    """The keys a command line names for the search: its sweeps (``key=interval(...)``,
    ``key=a,b``) and the keys it puts in ``hydra.sweeper.params`` (not those it sets to null:
    that removes them)."""
    named = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.key_or_group
        if key == PARAMS and isinstance(override.value(), dict):
            named += [str(name) for name, value in override.value().items() if value is not None]
        elif override.is_sweep_override() and not override.is_add() and not key.startswith("hydra"):
            named.append(key)
    return named


def check_search_keys(cfg, overrides: list[str]) -> None:
    """Refuse (ConfigError) a key the command line ``overrides`` name for the search that the
    composed ``cfg`` lacks."""
    for key in named_for_search(overrides):
        if not has_key(cfg, key):
            raise ConfigError(key, f"cannot be searched: {lacking(cfg, key)} (see `xaiexp --cfg job`)")


def lacking(cfg, key: str) -> str:
    """Why ``cfg`` has no ``key``: ``model=mine has no width``."""
    group, _, rest = key.partition(".")
    option = _choices(cfg).get(group)
    return f"{group}={option} has no {rest}" if option and rest else f"the config has no {key}"
