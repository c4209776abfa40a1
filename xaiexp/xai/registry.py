"""The names of the saliency methods and metrics, read without importing TensorFlow: what the
Saliency trace, MethodSet, Scorecard and the config's validation all read.

Methods are found, not listed: every module of ``xaiexp.xai.methods`` declares one as ``METHOD``
(``kinds.py``), so a new method is one new file there. Metrics are the Scorecard's, each with
whether it needs the dataset's object masks.
"""

import importlib
import math
import pkgutil
from collections.abc import Iterable
from typing import NamedTuple

from xaiexp.util.util import safe_name
from xaiexp.xai import methods as methods_package
from xaiexp.xai.kinds import SETTING_LABELS, SaliencyMethod, Settings


class Metric(NamedTuple):
    name: str
    needs_masks: bool = False  # scored against object masks; skipped without them
    default: bool = False  # logged unless the user chooses the metrics
    higher_is_better: bool = True
    # the chance floor (floors.py) a method's score is tested against: "uniform" (the mask
    # metrics: its score is the chance level exactly), "random" (metrics that rank pixels), None
    floor: str | None = None
    unit_range: bool = False  # every score is in [0, 1]: one outside is an error, never logged
    non_negative: bool = False  # no score is below 0 (a ratio of probabilities, an error's size)

    @property
    def bounds(self) -> tuple:
        """The range no score leaves, to which its intervals are cut."""
        return (0.0, 1.0) if self.unit_range else (0.0, math.inf) if self.non_negative else (-math.inf, math.inf)


METRICS = (
    Metric("relevance_mass", needs_masks=True, default=True, floor="uniform", unit_range=True),
    Metric("pointing_game", needs_masks=True, default=True, floor="uniform", unit_range=True),
    # deletion and insertion are relative to the clean image's score: insertion may pass 1
    Metric("deletion_auc", default=True, higher_is_better=False, floor="random", non_negative=True),
    Metric("insertion_auc", default=True, floor="random", non_negative=True),
    Metric("road_morf", higher_is_better=False, floor="random", unit_range=True),
    Metric("road_lerf", floor="random", unit_range=True),
    Metric("randomization", higher_is_better=False),
    Metric("randomization_ssim", higher_is_better=False),
    Metric("completeness", higher_is_better=False, non_negative=True),
)
DEFAULT_METRICS = tuple(metric.name for metric in METRICS if metric.default)

# Each mask metric scored against a shortcut's decoy masks is logged under this name.
DECOY_METRICS = {"relevance_mass": "decoy_mass", "pointing_game": "decoy_pointing_game"}
DECOY_SCORES = {decoy: metric for metric, decoy in DECOY_METRICS.items()}
CASCADE_STEP = "_top"  # randomization_top2: the randomization metric, the top 2 layers re-initialized

# The choices of SaliencyNet's ``output`` and ``noise_range`` and of the deletion and insertion
# baselines (a number is also allowed there), here so config validation reads them without
# TensorFlow.
OUTPUTS = ("probability", "logit")
PROBE_CHOICES = ("first", "stratified")  # the Saliency trace's ways of choosing its probes
NOISE_RANGES = ("batch", "image")
FAITHFULNESS_BASELINES = ("black", "mean", "blur")


class Problem(NamedTuple):
    """A chosen method's setting below 1: ``setting`` is a ``Settings`` field name."""

    setting: str
    method: str
    value: int

    @property
    def message(self) -> str:
        return f"{self.method} needs {SETTING_LABELS[self.setting]} >= 1, got {self.value}"


def registered_methods() -> dict[str, SaliencyMethod]:
    """Every method of ``xaiexp.xai.methods`` by name, in column order (``order``, then name)."""
    found = {}
    for module in pkgutil.iter_modules(methods_package.__path__):
        method = importlib.import_module(f"{methods_package.__name__}.{module.name}").METHOD
        if method.name in found:
            raise ValueError(f"saliency method {method.name!r} is declared twice, the second "
                             f"time in xaiexp.xai.methods.{module.name}")
        found[method.name] = method
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def method_names() -> tuple[str, ...]:
    """Names of every method, in column order: vanilla, smoothgrad, integrated, smint first."""
    return tuple(registered_methods())


def metric_key(method: str, outputs: str = "saliency") -> str:
    """The ``<method>`` part of ``xai/<method>/<metric>``: the column title in lower case with
    "_" for spaces (``smoothgrad`` -> ``smoothed_saliency``)."""
    return safe_name(registered_methods()[method].title.format(outputs)).lower()


def heavy_method_names() -> tuple[str, ...]:
    """The methods the Saliency trace may score less often (``heavy_every``): SmInt, Occlusion."""
    return tuple(name for name, method in registered_methods().items() if method.heavy)


def metric_names() -> tuple[str, ...]:
    return tuple(metric.name for metric in METRICS)


def cascade_key(metric: str, layers: int) -> str:
    """The metric's name after the top ``layers`` weighted layers are re-initialized (a cascade
    step short of the full randomization, which is ``metric`` itself)."""
    return f"{metric}{CASCADE_STEP}{layers}"


def find_metric(name: str) -> Metric:
    """The metric called ``name``; a decoy score (``decoy_mass``, ``decoy_pointing_game``) is
    its mask metric's kind, a cascade step (``cascade_key``) its randomization metric's."""
    name = DECOY_SCORES.get(name, name)
    if CASCADE_STEP in name:
        name = name.rpartition(CASCADE_STEP)[0]
    return next(metric for metric in METRICS if metric.name == name)


def mask_metric_names() -> tuple[str, ...]:
    """The metrics scored against object masks (skipped without them)."""
    return tuple(metric.name for metric in METRICS if metric.needs_masks)


def find_methods(names: Iterable[str]) -> dict[str, SaliencyMethod]:
    """The methods called ``names``, in that order without repeats; ValueError on an unknown
    name or none."""
    names = list(dict.fromkeys(names))
    known = registered_methods()
    if not names or any(name not in known for name in names):
        raise ValueError(f"methods must be a non-empty list from {list(known)}, got {names}")
    return {name: known[name] for name in names}


def check_settings(methods: Iterable[str], smoothing: int, steps: int,
                   smint_samples: int) -> Problem | None:
    """The first of ``methods`` (names) whose needed setting is below 1, else None; ValueError
    as ``find_methods`` on unknown names."""
    settings = Settings(smoothing, steps, smint_samples)
    for name, method in find_methods(methods).items():
        unmet = [setting for setting in method.needs if getattr(settings, setting) < 1]
        if unmet:
            return Problem(unmet[0], name, getattr(settings, unmet[0]))
    return None


def default_methods(smoothing: int, steps: int, smint_samples: int) -> list[str]:
    """The ``default`` methods (FastEstimator's vanilla, smoothgrad, integrated, smint) whose
    settings are all >= 1: the Saliency trace's columns when none are chosen."""
    settings = Settings(smoothing, steps, smint_samples)
    return [name for name, method in registered_methods().items()
            if method.default and all(getattr(settings, need) >= 1 for need in method.needs)]
