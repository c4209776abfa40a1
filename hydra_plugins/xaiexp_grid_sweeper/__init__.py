"""xaiexp's grid sweeper under the name Hydra accepts: Hydra instantiates sweepers only from
the ``hydra_plugins`` package (``hydra.core.plugins.Plugins.is_in_toplevel_plugins_module``)."""

from xaiexp.app.sweep.grid_sweeper import GridSweeper as _GridSweeper


class GridSweeper(_GridSweeper):
    """xaiexp.app.sweep.grid_sweeper.GridSweeper."""
