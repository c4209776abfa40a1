"""Explainable AI: saliency methods as pass recipes run by one batched gradient engine."""

from xaiexp.xai.integrated_gradients import integrated_gradients
from xaiexp.xai.method import Method, Term
from xaiexp.xai.saliency import SaliencyNet
from xaiexp.xai.smooth_grad import smooth_grad
from xaiexp.xai.smooth_integrated import smooth_integrated
from xaiexp.xai.vanilla_gradient import vanilla_gradient

__all__ = [
    "Method",
    "SaliencyNet",
    "Term",
    "integrated_gradients",
    "smooth_grad",
    "smooth_integrated",
    "vanilla_gradient",
]
