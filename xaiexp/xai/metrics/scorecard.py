"""Every method's maps of a batch, scored by the chosen metrics: the numbers the Saliency trace
logs each epoch as ``xai/<method>/<metric>``, with the chance floors beside them
(``xai/uniform_floor/<metric>``, ``xai/random_floor/<metric>``, see ``floors.py``).

Metrics score the raw relevance (``method_set.raw_key``), never the display masks: the masks'
99th-percentile clip ties the brightest 1 % of pixels, which decided the pointing game by the
first tied pixel in row-major order and the faithfulness curves' order among them."""

from collections.abc import Callable

import numpy as np

from xaiexp.xai.floors import RANDOM, UNIFORM, floor_maps
from xaiexp.xai.image_scores import image_ids
from xaiexp.xai.metrics.faithfulness import Black, check_baseline
from xaiexp.xai.metrics.randomized_maps import RandomizedMaps
from xaiexp.xai.method_set import raw_key
from xaiexp.xai.registry import find_metric, metric_names, registered_metrics
from xaiexp.xai.saliency_settings import DEFAULTS

RANGE_TOLERANCE = 1e-5  # float32 round-off of a probability or a share


class Scorecard:
    """Scores the maps of ``method_set`` with ``metrics``, and the chance floors' maps with those
    that have a floor (``Metric.floor``: the uniform map for the mask metrics, the random map for
    those and the ones that rank pixels). Each metric is computed as it declares itself
    (``metrics/metric.py``); the built-in ones:

    Args:
        metrics: Names from ``registry.metric_names()``.
            relevance_mass, pointing_game: against the object masks under ``mask_key``; skipped
                without it. With ``decoy`` (where a shortcut may sit), each also scores the maps
                against those masks, as "decoy_mass" and "decoy_pointing_game".
            deletion_auc, insertion_auc: the predicted class's probability, relative to the
                clean image's, as the most relevant pixels go (low is faithful) or come (high is
                faithful), in 16 steps; the pixels become (or start from) ``deletion_baseline``
                and ``insertion_baseline``, named as in ``faithfulness.py``; ``black`` is the
                model-input value of a black pixel (per channel).
            road_morf, road_lerf: ROAD (``road.py``): the share of removals (10 % … 90 % of the
                pixels, most or least relevant first, noisy linear imputation) after which the
                model still predicts the class (MoRF: low is faithful; LeRF: high).
            randomization, randomization_ssim: Spearman correlation and SSIM with the maps of a
                randomly initialized copy of the model, explaining the same classes, on the
                pixels the model sees (low: the map depends on the weights). One fixed copy
                serves every epoch, so nothing is traced again; it doubles the explaining. With
                ``cascading``, also after re-initializing only the top k weighted layers, as
                ``<metric>_top<k>`` (``randomized_maps.py``): one more explaining per layer.
            completeness: relative completeness error of one-term integrated methods.
        salnet: The SaliencyNet explaining the model.
        method_set: The MethodSet whose maps are scored.
        mask_key: Batch key of the object masks.
        decoy: ``decoy(batch) -> (B, H, W, 1)`` masks of where a shortcut may sit, or None.
        pointing_tolerance: The pointing game's tolerance, in pixels (``localization.py``).
        floors: Also score the chance floors' maps.
        black: The model-input value of a black pixel, per channel (``faithfulness.py``).
        cascading: Also score the randomization metrics' cascade (see above).
    """

    def __init__(self, metrics, salnet, method_set, mask_key=None,
                 decoy: Callable | None = None,
                 deletion_baseline: str | float = DEFAULTS.deletion_baseline,
                 insertion_baseline: str | float = DEFAULTS.insertion_baseline,
                 pointing_tolerance: float = DEFAULTS.pointing_tolerance, floors: bool = True,
                 black: Black = 0.0, cascading: bool = DEFAULTS.cascading):
        unknown = sorted(set(metrics) - set(registered_metrics()))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; choose from {list(metric_names())}")
        self.metrics = list(dict.fromkeys(metrics))
        self.salnet, self.method_set = salnet, method_set
        self.mask_key, self.decoy = mask_key, decoy
        self.pointing_tolerance, self.floors = pointing_tolerance, floors
        self.baselines = {"deletion_auc": check_baseline(deletion_baseline),
                          "insertion_auc": check_baseline(insertion_baseline)}
        self.black = black
        self.needs_completeness = "completeness" in self.metrics
        self._similarities = {metric.name: metric.similarity for metric in map(find_metric, self.metrics)
                              if metric.similarity}
        self._randomized = RandomizedMaps(salnet, method_set, cascading) if (
            self._similarities) else None

    def __call__(self, batch, maps):
        """``{(column, metric): mean score}`` of ``maps`` (``MethodSet.explain`` of ``batch``,
        with completeness when chosen), column by column, NaN (undefined) scores left out."""
        return {key: float(np.nanmean(scores)) if np.isfinite(scores).any() else np.nan
                for key, scores in self.per_sample(batch, maps).items()}

    def per_sample(self, batch, maps, metrics=None):
        """``{(column, metric): (B,) scores}``, as ``__call__`` but one score per image; the
        columns are those ``maps`` holds (``MethodSet.explain(..., columns=...)``), then the
        floors'. ``metrics``: only these of the metrics (None: all)."""
        columns = [c for c in self.method_set.columns if raw_key(c) in maps]
        raw = {c: maps[raw_key(c)] for c in columns}
        if self.floors:
            images = batch[self.salnet.model_inputs]
            raw |= floor_maps(images, image_ids(images), self.salnet.seed or 0)
        scores = {}  # metric -> {column: (B,) scores}
        chosen = [find_metric(name) for name in self.metrics if metrics is None or name in metrics]
        for metric in chosen:
            if metric.needs_masks and not self.mask_key:
                continue
            if metric.similarity is None:
                masks = batch[self.mask_key] if metric.needs_masks else None
                scores[metric.name] = metric.score(self, batch, self._floored(raw, metric.name),
                                                   maps, masks)
            elif metric.name == next(iter(self._similarities)):  # all: the same randomized maps
                scores.update(self._randomized.scores(
                    batch, {c: raw[c] for c in columns}, maps[self.salnet.model_outputs],
                    self._similarities))
        if self.decoy:
            decoys = self.decoy(batch)
            for metric in (m for m in chosen if m.decoy):
                scores[metric.decoy] = metric.score(self, batch, self._floored(raw, metric.name),
                                                    maps, decoys)
        result = {(c, name): np.asarray(by_column[c], np.float64) for c in raw
                  for name, by_column in scores.items() if c in by_column}
        for (column, name), values in result.items():
            _check_range(column, name, values)
        return result

    def _floored(self, raw, metric):
        """``raw`` without the floors that ``metric`` has none of (a uniform map ties every
        pixel, so it cannot rank them)."""
        floor = find_metric(metric).floor
        left_out = {UNIFORM, RANDOM} if floor is None else {UNIFORM} if floor == "random" else set()
        return {column: maps for column, maps in raw.items() if column not in left_out}

    def curves(self, metric, batch, raw, maps, **options):
        """{column: (B,) scores} of a metric that perturbs the images along each map's ranking
        (``metric(model, images, maps, classes, chunk_size=..., **options)``: deletion,
        insertion, ROAD), all columns in one go: the images repeated once per column."""
        images = np.asarray(batch[self.salnet.model_inputs], np.float32)
        columns = list(raw)
        stacked = metric(
            self._predict, np.concatenate([images] * len(columns)),
            np.concatenate([raw[c] for c in columns]),
            np.tile(maps[self.salnet.model_outputs], len(columns)),
            chunk_size=self.salnet.engine.chunk_size, **options)
        return dict(zip(columns, stacked.reshape(len(columns), len(images))))

    def _predict(self, images, training=False):
        """The engine's compiled forward pass (twice as fast as an eager call on a few hundred
        small images), called as the faithfulness metrics call a Keras model."""
        return self.salnet.engine.predict(np.asarray(images, np.float32))


def _check_range(column, name, scores):
    """The last line of defence: a score of a [0, 1] metric outside [0, 1] (a share of
    relevance or a ROAD rate computed from a model's wrong outputs, say) is an error, never a
    logged number."""
    outside = (scores < -RANGE_TOLERANCE) | (scores > 1 + RANGE_TOLERANCE)  # NaN: neither
    if find_metric(name).unit_range and outside.any():
        raise ValueError(f"{column} {name} = {scores[outside][0]:.4g} is outside [0, 1], its range: "
                         f"are the model's outputs probabilities? A model that outputs logits needs "
                         f"from_logits=True (model.logits=true in a config)")
