"""xaiexp: config-driven explainable-AI experiments on TensorFlow/Keras, tracked in MLflow.

The public API mirrors FastEstimator (``import xaiexp as xe``; ``xe.Pipeline``, ``xe.Network``,
``xe.Estimator``, ``xe.build``, ``xe.xai.SaliencyNet`` ...). Attributes are imported lazily so
that ``import xaiexp`` (and with it the CLI's ``--help`` and config validation) never pays for
importing TensorFlow.
"""

import importlib
import os
from typing import Any

# Set before TensorFlow is first imported: oneDNN kernels are off by default on these CPUs and
# give +20-30 % training and up to 2x saliency throughput (benchmarks/). Users may override.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_ATTRIBUTES = {
    "Pipeline": "xaiexp.pipeline",
    "Network": "xaiexp.network",
    "build": "xaiexp.network",
    "Estimator": "xaiexp.estimator",
}
_SUBPACKAGES = {
    "architecture", "backend", "dataset", "op", "schedule", "trace", "tracking", "util",
    "xai",
}


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"xaiexp.{name}")
    raise AttributeError(f"module 'xaiexp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ATTRIBUTES, *_SUBPACKAGES])
