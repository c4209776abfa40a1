"""Tensor helpers, devices, dtype policies and data-parallel strategies.

The helpers live in ``_<name>.py`` modules and are imported on first use (FastEstimator's
``fastestimator/backend`` layout), so that ``xaiexp.backend.choices`` stays free of TensorFlow:
config validation reads the strategy and precision names there.
"""

import importlib

__all__ = ["squeeze", "to_number", "to_tensor"]


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module(f"xaiexp.backend._{name}"), name)
    raise AttributeError(f"module 'xaiexp.backend' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
