"""The Saliency trace's settings, declared once: their types, bounds, choices and the library's
defaults (FastEstimator's, so ``Saliency(model, "x", "y_pred")`` paints its tutorial's maps).

The trace's signature, MethodSet, the method ``Settings`` and the Scorecard take their defaults
from ``DEFAULTS``; the config's ``explain`` block is this dataclass with xaiexp's own choices
(``xaiexp.app.config.schema.ExplainConfig``), and validation reads the bounds and choices from
the fields' metadata. No TensorFlow is imported.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Optional

from xaiexp.util.bounds import bounded
from xaiexp.xai.draws import SAMPLERS
from xaiexp.xai.quadrature import RULES


def _choices(name: str, *names: str) -> type[Enum]:
    """A config enum of ``names``: a value outside them fails at composition, naming them."""
    return Enum(name, {choice: choice for choice in names})


# What is explained: the target's softmax probability (FastEstimator's) or its logit (SaliencyNet)
ExplainedOutput = _choices("ExplainedOutput", "probability", "logit")
# How probes are chosen: the first images (FastEstimator's) or class-stratified and seeded
ProbeChoice = _choices("ProbeChoice", "first", "stratified")
# Whose value range scales noise and baselines: the probe batch's (FastEstimator's) or each image's
NoiseRange = _choices("NoiseRange", "batch", "image")
# What deleted pixels become and inserted pixels start from (a number is also allowed in the API)
Baseline = _choices("Baseline", "black", "mean", "blur")


def names(choice: type[Enum]) -> tuple[str, ...]:
    return tuple(member.value for member in choice)


@dataclass
class PassOptions:
    """How the gradient methods spend their passes; the defaults are FastEstimator's.

    This is also the ``explain.passes`` config node: the config's validation reads each field's
    ``choices`` and bounds from its metadata, so a new option is one field here (and its use in
    the recipes). ``tolerance`` refines integrated gradients image by image
    (``SaliencyNet.explain``).
    """

    # quadrature of integrated gradients' and SmInt's paths (quadrature.py)
    rule: str = field(default="linspace", metadata={"choices": tuple(RULES)})
    # how the noise and random baselines of a method are drawn together (draws.py)
    sampling: str = field(default="random", metadata={"choices": tuple(SAMPLERS)})
    baselines: int = bounded(1, minimum=1)  # random baselines IG averages
    # null: fixed steps; else IG's steps double per image until its completeness error is within
    tolerance: Optional[float] = bounded(None, above=0)
    max_steps: int = bounded(64, minimum=1)  # where the doubling stops


@dataclass
class OcclusionSettings:
    patch: int = bounded(4, minimum=1)  # side of the square hidden at a time
    stride: int = bounded(4, minimum=1)  # pixels between squares


@dataclass
class SaliencySettings:
    """What a Saliency trace is set with (its ``Args`` say what each does)."""

    samples: Optional[int] = bounded(None, minimum=1)  # None: the first batch
    probes: ProbeChoice = "first"
    methods: Optional[list[str]] = None  # None: FastEstimator's four that the settings leave on
    smoothing: int = bounded(25, minimum=0)  # SmoothGrad and VarGrad samples
    integrating: list[int] = field(default_factory=lambda: [100, 6])  # IG steps, SmInt samples
    passes: PassOptions = field(default_factory=PassOptions)
    occlusion: OcclusionSettings = field(default_factory=OcclusionSettings)
    chunk_size: int = bounded(1024, minimum=1)  # images per compiled gradient call
    metrics: Optional[list[str]] = None  # None: the registry's default metrics
    every: int = bounded(1, minimum=1)
    score_samples: Optional[int] = bounded(None, minimum=1)  # None: the metrics score the probes
    heavy_every: int = bounded(1, minimum=1)
    score_every: Optional[int] = bounded(1, minimum=1)
    output: ExplainedOutput = "probability"
    noise_range: NoiseRange = "batch"
    deletion_baseline: Baseline = "black"
    insertion_baseline: Baseline = "blur"
    # a pointing-game maximum this many pixels from the mask still hits (Zhang et al. use 15)
    pointing_tolerance: float = bounded(0.0, minimum=0)
    cascading: bool = False


DEFAULTS = SaliencySettings()


def patch_and_stride(occlusion) -> tuple[int, int]:
    """(patch, stride) of an ``OcclusionSettings``, a mapping of its fields or a pair."""
    if is_dataclass(occlusion):
        occlusion = {item.name: getattr(occlusion, item.name) for item in fields(occlusion)}
    if isinstance(occlusion, Mapping):
        return occlusion["patch"], occlusion["stride"]
    patch, stride = occlusion
    return patch, stride
