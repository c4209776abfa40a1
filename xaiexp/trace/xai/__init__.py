"""Explanation traces, where FastEstimator keeps them (``fastestimator.trace.xai``): saliency maps
of probe images with their scores, and the shortcut verdict drawn from those scores."""

from xaiexp.trace.xai.saliency import Saliency
from xaiexp.trace.xai.shortcut import ShortcutCheck

__all__ = ["Saliency", "ShortcutCheck"]
