"""Explainable AI: saliency methods as pass recipes run by one batched gradient engine."""

from xaiexp.xai.grad_cam import GradCam, last_feature_layer
from xaiexp.xai.gradient_x_input import gradient_x_input
from xaiexp.xai.integrated_gradients import integrated_gradients
from xaiexp.xai.method import Method, Term
from xaiexp.xai.occlusion import occlusion
from xaiexp.xai.saliency import SaliencyNet
from xaiexp.xai.smooth_grad import smooth_grad
from xaiexp.xai.smooth_integrated import smooth_integrated
from xaiexp.xai.vanilla_gradient import vanilla_gradient

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
