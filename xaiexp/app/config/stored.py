"""A config read back from a run store is data, not code (README "Security").

``xaiexp explain explain_run=...`` and ``xaiexp resume=...`` continue from the ``config.yaml`` a
run logged, which anyone who can write to the store (a shared tracking server's API is enough)
could have altered. So one rule holds for such a config, checked before anything it names is
imported or called:

- every ``_target_`` in it, at any depth, is one this xaiexp offers (the ``_target_``s of its
  own configs) or one the user's own command names (an override, a config the command composes,
  or any YAML in a ``--config-dir`` it gives);
- it holds no interpolation: configs are logged resolved, so a ``${...}`` there was written by
  someone else, and resolving it would read the environment or files on their behalf;
- it has only keys this xaiexp version knows, with values of their types;
- its traces write inside the run's folder only (a relative ``save_dir``/``log_dir``).

Anything else is a ConfigError naming the key and the run.
"""

import functools
import os
from pathlib import Path

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

import xaiexp
from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.schema import TRACE_DIRECTORIES, Config
from xaiexp.app.config.targets import leaves, named_targets
from xaiexp.app.config.validate import validate
from xaiexp.util.errors import ConfigError

TARGET = "_target_"
INTERPOLATION = "${"  # also in an escaped "\${": once resolved it is one again
HYDRA_FOLDER = "hydra"  # a config folder's Hydra settings (launchers, sweepers): not a run's


def read_stored(logged, run_id: str, key: str, replaced: dict, trusted: frozenset) -> DictConfig:
    """The config run ``run_id`` logged (``logged``, as read from YAML) on this version's schema,
    with ``replaced`` (what the command sets itself) on top, validated; a ConfigError naming the
    bad key and the run otherwise (``key``, the command's key that named the run, when the whole
    config is bad). ``trusted``: the ``_target_``s allowed (see ``trusted_targets``)."""
    whose = f"run {run_id}'s logged config"
    if not isinstance(logged, dict):
        raise ConfigError(key, f"{whose} is not a mapping of config keys: refused")
    try:
        found = list(leaves(logged))
    except RecursionError:
        raise ConfigError(key, f"{whose} is nested too deeply: refused") from None
    for path, value in found:
        if isinstance(value, str) and INTERPOLATION in value:
            raise ConfigError(path, f"{whose} holds the interpolation {value[:80]!r}; xaiexp logs configs "
                                    f"resolved, so it was altered: refused (nothing was resolved)")
    for path, folder in _trace_folders(logged):
        if not isinstance(folder, str) or os.path.isabs(os.path.expanduser(folder)) or (
                os.path.normpath(folder).split(os.sep)[0] == os.pardir):
            raise ConfigError(path, f"{whose} has a trace write to {folder!r}, outside the run's "
                                    f"folder: refused")
    try:
        config = OmegaConf.merge(OmegaConf.structured(Config), logged, replaced)
    except (OmegaConfBaseException, RecursionError) as error:
        raise ConfigError(getattr(error, "full_key", None) or key,
                          f"in {whose}: {_schema_problem(error)}") from None
    for path, target in targets(config):
        if not isinstance(target, str) or target not in trusted:
            raise ConfigError(path, f"{target!r} in {whose} is neither xaiexp's nor named by your "
                                    f"command: refused (to trust it, name it: {path}={target})")
    try:
        validate(config)
    except ConfigError as error:
        raise ConfigError(error.key, f"{str(error).partition(': ')[2]} (in {whose})") from None
    return config


def _trace_folders(logged):
    """(dotted key, value) of the folders the logged traces write to (TRACE_DIRECTORIES)."""
    traces = logged.get("traces")
    return [(f"traces.{name}.{key}", node[key]) for name, node in (
        traces.items() if isinstance(traces, dict) else ()) if isinstance(node, dict)
        for key in TRACE_DIRECTORIES if node.get(key) is not None]


def _schema_problem(error):
    if isinstance(error, ConfigKeyError):
        return f"a key xaiexp {xaiexp.__version__} does not know (logged by another version?): refused"
    return (str(error).splitlines() or [type(error).__name__])[0]


def targets(config) -> list:
    """(dotted key, value) of every ``_target_`` in ``config`` (plain or OmegaConf), at any depth."""
    plain = OmegaConf.to_container(config) if isinstance(config, (DictConfig, ListConfig)) else config
    return named_targets(plain)


def trusted_targets(command: DictConfig, config_dirs, overrides=()) -> frozenset:
    """The ``_target_``s a stored config may name: those of every YAML in ``config_dirs`` (xaiexp's
    own conf/ and the command's ``--config-dir``s, their Hydra settings aside), of the built-in
    schemas, of the config the command composed (``command``) and of its ``overrides``."""
    named = {value for _, value in targets(command) if isinstance(value, str)}
    named |= {o.partition("=")[2] for o in overrides if o.partition("=")[0].endswith(TARGET)}
    for folder in config_dirs:
        named |= _folder_targets(str(Path(folder).resolve()))
    return frozenset(named | set(target_schemas()))


@functools.cache
def _folder_targets(folder):
    found = set()
    for path in Path(folder).rglob("*.yaml"):
        if path.relative_to(folder).parts[0] == HYDRA_FOLDER:
            continue
        try:
            found |= {value for _, value in targets(yaml.safe_load(path.read_text()))
                      if isinstance(value, str)}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # unreadable: it names nothing (the command reports it if it composes it)
    return frozenset(found)
