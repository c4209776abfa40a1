"""Where a config's runs are tracked: the store ``tracking.uri`` names and the MLflow experiment."""

from xaiexp.tracking.store import TrackingTarget


def tracking_target(cfg) -> TrackingTarget:
    """``tracking.uri``'s store, or the project's embedded one when it is null."""
    return TrackingTarget.from_config(cfg.tracking.uri)


def experiment_name(cfg) -> str:
    """``tracking.experiment``, or the config's ``name`` when it is null."""
    return cfg.tracking.experiment or cfg.name
