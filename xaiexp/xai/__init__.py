"""Explainable AI: saliency methods as pass recipes run by one batched gradient engine.

The recipes and the registry (``xaiexp.xai.registry``) import no TensorFlow; the names that do
(SaliencyNet, GradCam, last_feature_layer) are imported on first use, so config validation can
read the registry before TensorFlow starts.
"""

import importlib
from typing import Any

from xaiexp.xai.method import Method, Term
from xaiexp.xai.methods.gradient_x_input import gradient_x_input
from xaiexp.xai.methods.integrated import integrated_gradients
from xaiexp.xai.methods.smint import smooth_integrated
from xaiexp.xai.methods.smoothgrad import smooth_grad
from xaiexp.xai.methods.vanilla import vanilla_gradient
from xaiexp.xai.patch_drops import occlusion

_LAZY = {
    "GradCam": "xaiexp.xai.class_activation",
    "last_feature_layer": "xaiexp.xai.class_activation",
    "SaliencyNet": "xaiexp.xai.saliency",
}

__all__ = [
    "GradCam",
    "Method",
    "SaliencyNet",
    "Term",
    "gradient_x_input",
    "integrated_gradients",
    "last_feature_layer",
    "occlusion",
    "smooth_grad",
    "smooth_integrated",
    "vanilla_gradient",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xaiexp.xai' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
