"""xaiexp's Optuna sweeper under the name Hydra accepts: Hydra instantiates sweepers only from
the ``hydra_plugins`` package (``hydra.core.plugins.Plugins.is_in_toplevel_plugins_module``)."""

from xaiexp.app.sweep.optuna_sweeper import OptunaSweeper as _OptunaSweeper


class OptunaSweeper(_OptunaSweeper):
    """xaiexp.app.sweep.optuna_sweeper.OptunaSweeper."""
