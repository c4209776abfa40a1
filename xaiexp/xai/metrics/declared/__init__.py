"""The Scorecard's metrics, one module each, found by ``registry.registered_metrics``: a module
declares its metric as ``METRIC`` (``xaiexp.xai.metrics.metric.Metric``) and imports no
TensorFlow at import time."""
