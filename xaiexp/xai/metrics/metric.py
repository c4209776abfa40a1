"""What a module of ``xaiexp.xai.metrics.declared`` declares: one metric, as ``METRIC``.

The registry finds every such module (``registry.registered_metrics``), so a new metric is one
new file there; config validation, the Scorecard, the Saliency trace's logging and the shortcut
verdict all read the declaration. Declarations import no TensorFlow (a config is validated before
TensorFlow is imported): a ``score`` function imports what it computes with when called.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Metric:
    """A metric of the Scorecard, logged as ``xai/<method>/<metric>``.

    ``score(card, batch, raw, maps, masks)`` returns ``{column: (B,) scores}`` of the ``raw``
    relevance maps (``{column: (B, H, W, 1)}``, the chance floors among them when the metric has
    one) of ``batch``; ``maps`` is ``MethodSet.explain``'s output (predicted classes,
    completeness errors), ``card`` the ``Scorecard`` (its model, settings and shared helpers),
    ``masks`` the object masks (or the decoy masks) when ``needs_masks``, else None.

    ``similarity(map, randomized_map, visible)``, instead of ``score``: a randomization metric,
    the similarity of each map with the map of a randomly initialized copy of the model
    (``randomized_maps.py``; the copies are made once for all such metrics).
    """

    name: str
    order: int  # its place among ``registry.metric_names()``
    score: Callable | None = None
    similarity: Callable | None = None
    needs_masks: bool = False  # scored against object masks; skipped without them
    # the name of its score against a shortcut's decoy masks (a mask metric's), None: not scored
    decoy: str | None = None
    default: bool = False  # logged unless the user chooses the metrics
    higher_is_better: bool = True
    # the chance floor (floors.py) a method's score is tested against: "uniform" (the mask
    # metrics: its score is the chance level exactly), "random" (metrics that rank pixels), None
    floor: str | None = None
    unit_range: bool = False  # every score is in [0, 1]: one outside is an error, never logged
    non_negative: bool = False  # no score is below 0 (a ratio of probabilities, an error's size)

    def __post_init__(self):
        if (self.score is None) == (self.similarity is None):
            raise ValueError(f"metric {self.name!r} declares a score or a similarity, one of them")
        if self.decoy and not self.needs_masks:
            raise ValueError(f"metric {self.name!r}: only a mask metric has a decoy score")

    @property
    def bounds(self) -> tuple:
        """The range no score leaves, to which its intervals are cut."""
        return (0.0, 1.0) if self.unit_range else (0.0, math.inf) if self.non_negative else (-math.inf, math.inf)
