"""MLflow integration: the run lifecycle and the MLflow trace. The only place mlflow is imported
(lazily, on first use: ``import mlflow`` costs seconds)."""

import importlib

_ATTRIBUTES = {
    "MLflowTrace": "xaiexp.tracking.mlflow_trace",
    "mlflow_run": "xaiexp.tracking.run",
    "TrackingTarget": "xaiexp.tracking.store",
}


def __getattr__(name):
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'xaiexp.tracking' has no attribute {name!r}")


__all__ = list(_ATTRIBUTES)
