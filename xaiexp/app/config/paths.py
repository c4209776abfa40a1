"""Which config values are paths: a built-in target's arguments named ``*path``, ``*masks`` or
``*dir`` (a dataset's folders and files, a saved model's file).

A run records them absolute (README "Explaining a trained model"), so the config it logs names
the same files wherever ``xaiexp explain`` or ``xaiexp resume`` reads it back from.
"""

import os

from omegaconf import DictConfig

from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.validate import resolved, target_arguments

PATH_ENDINGS = ("path", "masks", "dir")
PATH_GROUPS = ("dataset", "model")


def path_arguments(node: DictConfig, group: str) -> dict:
    """{argument: absolute path} of the ``group`` node ``node`` of a built-in target (a user's
    target says nothing about which of its arguments are paths)."""
    if node.get("_target_") not in target_schemas():
        return {}
    arguments = resolved(node, target_arguments(node, group))
    return {key: os.path.abspath(os.path.expanduser(value)) for key, value in arguments.items()
            if isinstance(value, str) and key.endswith(PATH_ENDINGS)}


def absolute_paths(cfg: DictConfig) -> DictConfig:
    """``cfg`` with its paths (``path_arguments``) made absolute, against the working directory."""
    for group in PATH_GROUPS:
        for key, path in path_arguments(cfg[group], group).items():
            cfg[group][key] = path
    return cfg
