"""xaiexp's Ray launcher under the name Hydra accepts: Hydra instantiates launchers only from
the ``hydra_plugins`` package (``hydra.core.plugins.Plugins.is_in_toplevel_plugins_module``)."""

from xaiexp.app.sweep.ray_launcher import RayLauncher as _RayLauncher


class RayLauncher(_RayLauncher):
    """xaiexp.app.sweep.ray_launcher.RayLauncher."""
