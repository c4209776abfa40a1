"""One ConfigStore for all of Hydra's copies of the config repository.

Hydra 1.3 deep-copies its config repository each time it lists a config group's options, and
the copy takes the ConfigStore along: every registered schema (``config_schema``, Hydra's own
``HydraConf``) is copied again. ``--help`` lists over a hundred groups and options, so it spent
most of its time copying schemas it only reads. The repository's structured source needs no
copy of the store: ConfigStore is a process-wide singleton, and Hydra copies a node whenever it
loads one, so the store is never changed through a source.
"""

import copy

from hydra.core.plugins import Plugins


def share_config_store():
    """Copies of Hydra's structured config source read the one ConfigStore instead of a copy.

    Hydra's plugin scan runs its core plugins' modules again, defining their classes anew: the
    scan comes first (once a process, as Hydra would do it anyway), then the class it keeps is
    changed."""
    Plugins.instance()
    from hydra._internal.core_plugins.structured_config_source import StructuredConfigSource

    StructuredConfigSource.__deepcopy__ = lambda source, memo: copy.copy(source)
