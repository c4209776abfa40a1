"""The names of the saliency methods and metrics, read without importing TensorFlow: what the
Saliency trace, MethodSet, Scorecard and the config's validation all read.

Methods and metrics are found, not listed: every module of ``xaiexp.xai.methods`` declares one
method as ``METHOD`` (``kinds.py``), every module of ``xaiexp.xai.metrics.declared`` one metric as
``METRIC`` (``metrics/metric.py``), so a new method or metric is one new file there.
"""

import importlib
import pkgutil
from collections.abc import Iterable
from typing import NamedTuple

from xaiexp.util.util import safe_name
from xaiexp.xai import methods as methods_package
from xaiexp.xai.kinds import SETTING_LABELS, SaliencyMethod, Settings
from xaiexp.xai.metrics import declared as metrics_package
from xaiexp.xai.metrics.metric import Metric


EXPLANATION = "xai/"  # the Saliency trace's scores: xai/<method>/<metric>[<companion>]
CASCADE_STEP = "_top"  # randomization_top2: the randomization metric, the top 2 layers re-initialized



class Problem(NamedTuple):
    """A chosen method's setting below 1: ``setting`` is a ``Settings`` field name."""

    setting: str
    method: str
    value: int

    @property
    def message(self) -> str:
        return f"{self.method} needs {SETTING_LABELS[self.setting]} >= 1, got {self.value}"


def _declared(package, attribute: str, what: str) -> dict:
    """Every module of ``package``'s ``attribute`` by its name, in ``order`` (then name)."""
    found = {}
    for module in pkgutil.iter_modules(package.__path__):
        declared = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), attribute)
        if declared.name in found:
            raise ValueError(f"{what} {declared.name!r} is declared twice, the second time in "
                             f"{package.__name__}.{module.name}")
        found[declared.name] = declared
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def registered_methods() -> dict[str, SaliencyMethod]:
    """Every method of ``xaiexp.xai.methods`` by name, in column order (``order``, then name)."""
    return _declared(methods_package, "METHOD", "saliency method")


def registered_metrics() -> dict[str, Metric]:
    """Every metric of ``xaiexp.xai.metrics.declared`` by name, in ``order`` (then name)."""
    return _declared(metrics_package, "METRIC", "metric")


DEFAULT_METRICS = tuple(name for name, metric in registered_metrics().items() if metric.default)


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
    return tuple(registered_metrics())


def decoy_names() -> dict[str, str]:
    """{mask metric: the name of its score against a shortcut's decoy masks}: relevance_mass:
    decoy_mass, pointing_game: decoy_pointing_game."""
    return {name: metric.decoy for name, metric in registered_metrics().items() if metric.decoy}


def explanation_key(method: str, metric: str) -> str:
    """``xai/<method>/<metric>``: the key a method's (``metric_key``) score is logged under."""
    return f"{EXPLANATION}{method}/{metric}"


def explanation_parts(key: str) -> tuple[str, str] | None:
    """The ``(<method>, <metric>)`` of an ``xai/<method>/<metric>`` key; None for any other key."""
    if not key.startswith(EXPLANATION):
        return None
    method, _, metric = key.removeprefix(EXPLANATION).partition("/")
    return method, metric


def explained_method(key: str) -> str | None:
    """The ``<method>`` of an ``xai/<method>/<metric>`` key; None for any other key."""
    parts = explanation_parts(key)
    return parts[0] if parts else None


def cascade_key(metric: str, layers: int) -> str:
    """The metric's name after the top ``layers`` weighted layers are re-initialized (a cascade
    step short of the full randomization, which is ``metric`` itself)."""
    return f"{metric}{CASCADE_STEP}{layers}"


def find_metric(name: str) -> Metric:
    """The metric called ``name``; a decoy score (``decoy_mass``, ``decoy_pointing_game``) is
    its mask metric's kind, a cascade step (``cascade_key``) its randomization metric's."""
    name = {decoy: metric for metric, decoy in decoy_names().items()}.get(name, name)
    if CASCADE_STEP in name:
        name = name.rpartition(CASCADE_STEP)[0]
    return registered_metrics()[name]


def mask_metric_names() -> tuple[str, ...]:
    """The metrics scored against object masks (skipped without them)."""
    return tuple(name for name, metric in registered_metrics().items() if metric.needs_masks)


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
