"""xaiexp's Optuna sweeper under the name Hydra accepts: Hydra instantiates sweepers only from
the ``hydra_plugins`` package (``hydra.core.plugins.Plugins.is_in_toplevel_plugins_module``).

Hydra runs every module of ``hydra_plugins`` in each command, ``--help`` too, to find its
plugins; importing Optuna takes a quarter of a second, so the sweeper is imported when Hydra
makes one, as Hydra's published sweeper plugins do."""

from hydra.plugins.sweeper import Sweeper


class OptunaSweeper(Sweeper):
    """xaiexp.app.sweep.optuna_sweeper.OptunaSweeper, made with the same arguments."""

    def __init__(self, *args, **kwargs):
        from xaiexp.app.sweep.optuna_sweeper import OptunaSweeper as Optuna

        self.sweeper = Optuna(*args, **kwargs)

    def setup(self, *, hydra_context, task_function, config):
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        return self.sweeper.sweep(arguments)
