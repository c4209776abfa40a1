"""What a registered saliency method declares: its name, column title, the settings it needs,
and how its raw attributions are computed. One of three kinds:

- ``Gradients``: a recipe of terms (method.py), run with every other gradient method's terms in
  ONE batched engine call (``SaliencyNet.explain``), so they share its compiled chunks.
- ``Sampled``: several recipes run in that same call, whose raw maps are combined by a function
  that is not a weighted sum (VarGrad's variance).
- ``Computed``: its own call on the SaliencyNet (Grad-CAM, Occlusion).

Declarations import no TensorFlow, so names, titles and needs can be read (and a config
validated) before TensorFlow is imported; ``Computed`` functions import it when called.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaiexp.xai.method import Method
from xaiexp.xai.saliency_settings import DEFAULTS, PassOptions, patch_and_stride

# The settings a method may need >= 1, and how messages name them.
SETTING_LABELS = {"smoothing": "smoothing", "steps": "integration steps",
                  "smint_samples": "SmInt samples"}


@dataclass(frozen=True)
class Settings:
    """What the methods of one MethodSet are computed with (defaults: ``saliency_settings``)."""

    smoothing: int = DEFAULTS.smoothing  # noisy samples of SmoothGrad and VarGrad
    steps: int = DEFAULTS.integrating[0]  # integration steps of integrated gradients and SmInt
    smint_samples: int = DEFAULTS.integrating[1]  # SmInt's smoothing samples
    occlusion: tuple[int, int] = patch_and_stride(DEFAULTS.occlusion)  # (patch, stride) in pixels
    passes: PassOptions = field(default_factory=PassOptions)


@dataclass(frozen=True, kw_only=True)
class SaliencyMethod:
    """A column of the Saliency trace.

    ``title`` is formatted with the masks' name (e.g. "Smoothed {}" -> "Smoothed saliency");
    ``order`` places the column among ``registry.method_names()``; ``needs`` names the
    ``Settings`` fields that must be >= 1 for the method to exist; ``default`` methods are the
    columns shown when none are chosen (FastEstimator's four) and their needs are met;
    ``heavy`` methods cost far more than a gradient an image (SmInt's integrated samples,
    Occlusion's patch sweep), so the Saliency trace may score them less often (``heavy_every``).
    """

    name: str
    title: str
    order: int
    needs: tuple[str, ...] = ()
    default: bool = False
    heavy: bool = False

    def __post_init__(self):
        unknown = sorted(set(self.needs) - set(SETTING_LABELS))
        if unknown:
            raise ValueError(f"method {self.name!r} needs unknown settings {unknown}; "
                             f"choose from {list(SETTING_LABELS)}")

    def passes(self, settings: Settings) -> dict[str, Method]:
        """Recipes to run in the shared engine call, by a key suffix unique within the method."""
        return {}

    def attributions(self, salnet, batch, maps: list[np.ndarray], settings: Settings) -> np.ndarray:
        """(B, H, W, C) raw attributions from the raw ``maps`` of ``passes``, in their order."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Gradients(SaliencyMethod):
    """The weighted sum of terms that ``recipe(settings)`` returns."""

    recipe: Callable[[Settings], Method]

    def passes(self, settings):
        return {"": self.recipe(settings)}

    def attributions(self, salnet, batch, maps, settings):
        return maps[0]


@dataclass(frozen=True, kw_only=True)
class Sampled(SaliencyMethod):
    """``combine`` of the raw maps of the recipes that ``samples(settings)`` returns."""

    samples: Callable[[Settings], Mapping[str, Method]]
    combine: Callable[[list[np.ndarray]], np.ndarray]

    def passes(self, settings):
        return {f" {key}": terms for key, terms in self.samples(settings).items()}

    def attributions(self, salnet, batch, maps, settings):
        return self.combine(maps)


@dataclass(frozen=True, kw_only=True)
class Computed(SaliencyMethod):
    """``compute(salnet, batch, settings)``: raw (B, H, W, C) attributions from a call of its
    own, for the classes ``salnet`` explains."""

    compute: Callable[[Any, Mapping, Settings], np.ndarray]

    def attributions(self, salnet, batch, maps, settings):
        return self.compute(salnet, batch, settings)
