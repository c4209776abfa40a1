"""Every method's maps of a batch, scored by the chosen metrics: the numbers the Saliency trace
logs each epoch as ``xai/<method>/<metric>`` (the mean over its probes)."""

import numpy as np

from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass
from xaiexp.xai.metrics.randomization import rank_correlation, randomized_clone
from xaiexp.xai.registry import mask_metric_names, metric_names
from xaiexp.xai.saliency import SaliencyNet

METRICS = metric_names()
# How each metric is scored; which need object masks is the registry's (mask_metric_names).
MASK_METRICS = {"relevance_mass": relevance_mass, "pointing_game": pointing_game}
DECOY_METRICS = {"relevance_mass": "decoy_mass", "pointing_game": "decoy_pointing_game"}
FAITHFULNESS_METRICS = {"deletion_auc": deletion_auc, "insertion_auc": insertion_auc}
TRAINED_CLASSES = "trained classes"  # batch key: the randomized model explains the same classes


class Scorecard:
    """Scores the maps of ``method_set`` with ``metrics``.

    Args:
        metrics: Names from ``registry.metric_names()``.
            relevance_mass, pointing_game: against the object masks under ``mask_key``; skipped
                without it. With ``decoy_key`` (masks of a planted shortcut), each also scores
                the maps against those masks, as "decoy_mass" and "decoy_pointing_game".
            deletion_auc, insertion_auc: the predicted class's score as the most relevant pixels
                go (low is faithful) or come (high is faithful), in 16 steps.
            randomization: Spearman correlation with the maps of a randomly initialized copy of
                the model, explaining the same classes (low: the map depends on the weights).
                One fixed copy serves every epoch, so nothing is traced again; it doubles the
                explaining.
            completeness: relative completeness error of one-term integrated methods.
        salnet: The SaliencyNet explaining the model.
        method_set: The MethodSet whose maps are scored.
    """

    def __init__(self, metrics, salnet, method_set, mask_key=None, decoy_key=None):
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
        self.metrics = list(dict.fromkeys(metrics))
        self.salnet, self.method_set = salnet, method_set
        self.mask_key, self.decoy_key = mask_key, decoy_key
        self.needs_completeness = "completeness" in self.metrics
        self._randomized = None
        if "randomization" in self.metrics:
            self._randomized = SaliencyNet(
                randomized_clone(salnet.engine.model), salnet.model_inputs, salnet.model_outputs,
                salnet.outputs, chunk_size=salnet.engine.chunk_size, seed=salnet.seed,
                target=TRAINED_CLASSES)

    def __call__(self, batch, maps):
        """``{(column, metric): mean score}`` of ``maps`` (``MethodSet.explain`` of ``batch``,
        with completeness when chosen), column by column."""
        columns = list(self.method_set.columns)
        scores = {}  # metric -> {column: (B,) scores}
        for name in self.metrics:
            if name in mask_metric_names() and self.mask_key:
                scores[name] = {c: MASK_METRICS[name](maps[c], batch[self.mask_key])
                                for c in columns}
            elif name in FAITHFULNESS_METRICS:
                scores[name] = self._faithfulness(FAITHFULNESS_METRICS[name], batch, maps, columns)
            elif name == "randomization":
                scores[name] = self._randomization(batch, maps, columns)
            elif name == "completeness":
                scores[name] = {c: maps[f"{c} completeness"] for c in columns
                                if f"{c} completeness" in maps}
        if self.decoy_key:
            for name in (m for m in self.metrics if m in mask_metric_names()):
                scores[DECOY_METRICS[name]] = {c: MASK_METRICS[name](maps[c], batch[self.decoy_key])
                                               for c in columns}
        return {(c, name): float(np.mean(by_column[c])) for c in columns
                for name, by_column in scores.items() if c in by_column}

    def _faithfulness(self, metric, batch, maps, columns):
        """All columns' curves in one go: the images repeated once per column."""
        images = np.asarray(batch[self.salnet.model_inputs], np.float32)
        stacked = metric(self._predict, np.concatenate([images] * len(columns)),
                         np.concatenate([maps[c] for c in columns]),
                         np.tile(maps[self.salnet.model_outputs], len(columns)),
                         chunk_size=self.salnet.engine.chunk_size)
        return dict(zip(columns, stacked.reshape(len(columns), len(images))))

    def _predict(self, images, training=False):
        """The engine's compiled forward pass (twice as fast as an eager call on a few hundred
        small images), called as the faithfulness metrics call a Keras model."""
        return self.salnet.engine.predict(np.asarray(images, np.float32))

    def _randomization(self, batch, maps, columns):
        probes = {self.salnet.model_inputs: batch[self.salnet.model_inputs],
                  TRAINED_CLASSES: maps[self.salnet.model_outputs]}
        randomized = self.method_set.explain(self._randomized, probes)
        return {c: rank_correlation(maps[c], randomized[c]) for c in columns}
