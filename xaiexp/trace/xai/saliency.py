"""The Saliency trace: saliency maps of fixed probe samples, painted at the end of every epoch."""

from collections.abc import Mapping

import numpy as np

from xaiexp.backend.precision import float32_copy, follow
from xaiexp.backend import to_number
from xaiexp.trace.trace import Trace
from xaiexp.trace.xai.weights import explained_weights
from xaiexp.util.console import transient
from xaiexp.util.img_data import ImgData, Overlay
from xaiexp.util.util import safe_name
from xaiexp.xai import SaliencyNet
from xaiexp.xai import statistics
from xaiexp.xai.floors import RANDOM, UNIFORM, above_floor
from xaiexp.xai.image_scores import ImageScores, image_ids
from xaiexp.xai.method_set import MethodSet, raw_key
from xaiexp.xai.metrics.scorecard import Scorecard
from xaiexp.xai.registry import (DEFAULT_METRICS, EXPLANATION, default_methods, explanation_key,
                                 find_metric)
from xaiexp.xai.saliency_settings import DEFAULTS as D, PassOptions, ProbeChoice, names
from xaiexp.xai.saliency import class_indices
from xaiexp.xai.stratified import StratifiedSample

FLOOR_COLUMNS = {"uniform": UNIFORM, "random": RANDOM}


def standard_error(scores):
    """The standard error of the mean of ``scores`` (ddof=1), NaN (undefined) scores left out;
    NaN below two scores."""
    scores = statistics.finite(scores)
    return float(np.std(scores, ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else np.nan


def summary(scores, kind, floor=None):
    """What is logged of one ``kind`` of metric's (``metrics.metric.Metric``) per-image ``scores``
    beside its mean, by suffix: the standard error, the 95 % interval that fits the score
    (``statistics.score_interval``, within the range the metric cannot leave), the number
    of images with a defined score and, given the ``floor``'s scores of the same images, the
    one-sided p-value that the method beats it (``floors.above_floor``)."""
    interval = statistics.score_interval(scores, bounds=kind.bounds)
    logged = {"": interval.estimate, "_se": standard_error(scores), "_ci_low": interval.low,
              "_ci_high": interval.high, "_n": interval.n}
    if floor is not None:
        logged["_floor_p"] = above_floor(scores, floor, kind.higher_is_better)
    return logged


class Saliency(Trace):
    """Computes saliency maps of a model for a few probe samples throughout training.

    The probes are chosen in the first epoch of each mode and reused in later epochs, so the
    maps show how the model's attention changes: the first ``samples`` images (FastEstimator's
    choice), or with ``probes="stratified"`` a class-stratified, seeded sample of the whole
    epoch (``StratifiedSample``), so that a stream sorted by class (an image folder) does not
    show its first class alone. At each epoch end an
    ``ImgData`` with the columns label, prediction, input, input overlaid with the right-most map,
    and one map per method is written under ``outputs`` (for ImageSaver, ImageViewer,
    TensorBoard or MLflow), and every method's maps are scored with ``metrics``, logged as
    ``xai/<method>/<metric>`` (the mean over the probes, or over ``score_samples``; <method> is
    the column name in lower case with "_" for spaces). The gradient methods' passes run together
    in a few compiled calls.

    Args:
        model: The Keras model to inspect.
        model_inputs: Batch key of the model's input images.
        model_outputs: Column name for the predicted classes.
        class_key: Batch key of the true labels (optional; adds a label column).
        label_mapping: {class name: class index}, to show names instead of indices.
        outputs: Key of the ImgData written into the epoch's data.
        samples: How many probes to keep (None: the first batch); or a dict
            {model_inputs: images, class_key: labels} of chosen probes.
        probes: "first" (the first ``samples`` images of the mode's first epoch) or
            "stratified" (as equal a count per class as the data allows, drawn with ``seed``:
            the same images in every run of a seed, the first k spanning min(k, classes)
            classes).
        mode: Mode(s) to run in.
        smoothing: SmoothGrad and VarGrad samples (0: no smoothed column by default).
        integrating: Integration steps (0: no integrated and SmInt columns by default), or a pair
            (integration steps, SmInt smoothing samples; 0 samples drops only SmInt). An int or
            a one-item list uses ``smoothing`` samples for SmInt.
        chunk_size: Most gradient passes per compiled call (bounds memory).
        seed: None for fresh noise every epoch; an int draws the same noise each epoch.
        methods: Columns in order, names from ``xaiexp.xai.registry.method_names()`` (vanilla,
            smoothgrad, integrated, smint, gradient_x_input, vargrad, gradcam, occlusion); None:
            FastEstimator's four, those that ``smoothing`` and ``integrating`` leave on.
        occlusion: (patch, stride) in pixels of the occlusion method (or a mapping of them).
        mask_key: Batch key of ground-truth object masks (e.g. "mask" of the shapes dataset),
            needed by the relevance_mass and pointing_game metrics (skipped without it).
        decoy_key: Batch key of masks of where a shortcut may sit (e.g. "decoy_mask" of
            ``shapes`` with ``shortcut``, or of a folder's ``decoy_masks``): each mask metric is
            also scored against them, logged as ``xai/<method>/decoy_mass`` and
            ``xai/<method>/decoy_pointing_game``.
        decoy: Instead of ``decoy_key``, a region: ``decoy(images, labels) -> masks``
            (``xaiexp.xai.decoy.Box``, ``Border`` or a function of your own).
        pointing_tolerance: The pointing game's tolerance in pixels (``localization.py``).
        metrics: Names from ``xaiexp.xai.registry.metric_names()``; see ``Scorecard``. None:
            ``registry.DEFAULT_METRICS``. They score the raw relevance, the figures
            show the normalized masks.
        output: What is explained: the target's "probability" (FastEstimator's) or its
            pre-softmax "logit"; see ``SaliencyNet``.
        from_logits: The model outputs logits (no final softmax); see ``SaliencyNet``.
        noise_range: "batch" (FastEstimator's) or "image": whose value range scales the noise
            and the uniform baseline; see ``SaliencyNet``.
        deletion_baseline, insertion_baseline: What deleted pixels become and inserted pixels
            start from: "black", "mean", "blur" or a number (``metrics/faithfulness.py``).
        black: The model-input value of a black pixel, one value or one per channel: what the
            "black" baseline fills. 0 for images the model sees unnormalized; after a
            ``Normalize`` op, (0 − mean) / std (the runner passes it).
        cascading: The randomization metrics also re-initialize the top k weighted layers only,
            for every k (Adebayo et al.'s cascade), logged as ``<metric>_top<k>``.
        every: Explain every ``every``-th eval epoch (epochs ``every``, 2·``every``, ...), and
            always at the last epoch of fit (``system.total_epochs``, or an epoch a trace stopped
            training after) and in test mode; the probes are still collected in each mode's
            first epoch. 1: every epoch.
        score_samples: None scores the probes. An int: the metrics score instead a scoring set
            of that many images, class-stratified by ``class_key`` (``StratifiedSample``) and
            collected during each mode's first epoch, the same images in every run of a seed.
            Either way each metric is logged as its mean (undefined scores, such as any score of an
            all-zero map, left out), with ``<metric>_se`` (its standard error), ``_ci_low`` and
            ``_ci_high`` (its 95 % interval: exact for hit-or-miss scores, Student-t for the
            others, ``statistics.py``), ``_n`` (images with a defined score) and, for metrics
            with a chance floor, ``_floor_p`` (the one-sided p-value that the method beats its
            floor on the same images); the floors' own scores are logged as
            ``xai/uniform_floor/<metric>`` and ``xai/random_floor/<metric>`` (``floors.py``).
            The scores image by image are written (not logged) as ``ImageScores`` under
            ``<outputs>_scores`` (MLflowTrace logs them as ``<outputs>_scores/<mode>_epoch_<n>.npz``
            for ``xaiexp report``'s paired tests), with the weights they came from
            (``weights.explained_weights``).
        passes: How the gradient methods spend their passes (``PassOptions``, or a mapping of
            its fields: ``rule``, ``sampling``, ``baselines``, ``tolerance``, ``max_steps``);
            None: FastEstimator's (README, "Fewer passes, same maps").
        heavy_every: The heavy methods' columns (SmInt, Occlusion: ``SaliencyMethod.heavy``) are
            scored only every ``heavy_every``-th eval epoch, and always at the last epoch of fit
            and in test; the figures always show them. With a scoring set this skips their
            explaining of it; on the probes, only their metrics. 1: whenever explained.
        score_every: The metrics are computed every ``score_every``-th eval epoch that is
            explained, and always at the last epoch of fit and in test (None: only then); the
            other explained epochs paint the figure alone. A scoring set of a hundred images
            costs that many explanations an epoch: scoring it at the end only keeps a run fast.
    """

    # The defaults of the settings (``D``) are declared once, in xaiexp.xai.saliency_settings.
    def __init__(self, model, model_inputs, model_outputs, class_key=None, label_mapping=None,
                 outputs="saliency", samples=D.samples, mode=("eval", "test"),
                 smoothing=D.smoothing, integrating=tuple(D.integrating), chunk_size=D.chunk_size,
                 seed=None, methods=D.methods, occlusion=D.occlusion, mask_key=None,
                 decoy_key=None, metrics=D.metrics, output: str = D.output,
                 noise_range: str = D.noise_range, deletion_baseline: str | float = D.deletion_baseline,
                 insertion_baseline: str | float = D.insertion_baseline, every: int = D.every,
                 score_samples: int | None = D.score_samples, heavy_every: int = D.heavy_every,
                 probes: str = D.probes, decoy=None, pointing_tolerance: float = D.pointing_tolerance,
                 score_every: int | None = D.score_every, from_logits: bool = False,
                 black: float | list[float] = 0.0, cascading: bool = D.cascading,
                 passes: PassOptions | Mapping | None = None):
        super().__init__(inputs=[key for key in (class_key, model_inputs, mask_key, decoy_key)
                                 if key],
                         outputs=outputs, mode=mode)
        self.model, self.model_inputs, self.model_outputs = model, model_inputs, model_outputs
        self.class_key = class_key
        self.class_names = {index: name for name, index in (label_mapping or {}).items()}
        steps, smint_samples = (*integrating, smoothing)[:2] if isinstance(
            integrating, tuple | list) else (integrating, smoothing)
        if methods is None:
            methods = default_methods(smoothing, steps, smint_samples)
        self.method_set = MethodSet(methods, outputs, smoothing, steps, smint_samples, occlusion,
                                    passes)
        for name, value in (("every", every), ("heavy_every", heavy_every),
                            ("score_every", 1 if score_every is None else score_every)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.every, self.heavy_every, self.score_every = every, heavy_every, score_every
        self._float32 = float32_copy(model)  # what is explained (a float32 copy in mixed precision)
        self.salnet = SaliencyNet(self._float32, model_inputs, model_outputs,
                                  outputs=outputs, chunk_size=chunk_size, seed=seed, output=output,
                                  noise_range=noise_range, from_logits=from_logits)
        if decoy_key and decoy is not None:
            raise ValueError("give decoy_key (masks in the data) or decoy (a region), not both")
        self.decoy_key = decoy_key
        self.scorecard = Scorecard(DEFAULT_METRICS if metrics is None else metrics, self.salnet,
                                   self.method_set, mask_key, self._decoy_source(decoy_key, decoy),
                                   deletion_baseline, insertion_baseline, pointing_tolerance,
                                   black=black, cascading=cascading)
        if probes not in names(ProbeChoice):
            raise ValueError(f"probes must be one of {list(names(ProbeChoice))}, got {probes!r}")
        self.stratified = probes == "stratified"
        if isinstance(samples, dict):
            self.samples = None
            self.probes = {mode: {key: to_number(samples[key]) for key in self.inputs}
                           for mode in self.mode}
        else:
            if self.stratified and samples is None:
                raise ValueError("stratified probes need a number of samples")
            self.samples = samples
            self.probes = {}  # mode -> {key: array}, fixed once the mode's first epoch ends
        self._collected = {}  # mode -> list of batch slices, during that first epoch
        self.score_samples = score_samples
        if score_samples is not None:
            StratifiedSample(score_samples)  # checks the size
        self.scoring = {}  # mode -> {key: array}: the scoring set, fixed as the probes are
        self._samplers = {}  # mode -> {"probes"|"scoring": StratifiedSample}, in that first epoch

    def needs_batch(self):
        """Only while this mode's probes or scoring set are being collected (its first epoch)."""
        if self.system is None:
            return True
        mode = self.system.mode
        return mode not in self.probes or (self.score_samples is not None
                                            and mode not in self.scoring)

    def on_batch_end(self, data):
        if not self.needs_batch():
            return
        mode = self.system.mode
        batch = {key: to_number(data[key]) for key in self.inputs}
        classes = class_indices(batch[self.class_key]) if self.class_key else None
        for sampler in self._mode_samplers(mode).values():
            sampler.add(batch, classes)
        if mode in self.probes or self.stratified:
            return
        collected = self._collected.setdefault(mode, [])
        have = sum(len(part[self.model_inputs]) for part in collected)
        wanted = self.samples
        if wanted is None:  # the whole first batch, whatever its size
            wanted = have or len(batch[self.model_inputs])
        if have < wanted:
            collected.append({key: values[:wanted - have] for key, values in batch.items()})

    def on_epoch_end(self, data):
        mode = self.system.mode
        samplers = self._samplers.pop(mode, {})
        if "scoring" in samplers:
            self.scoring[mode] = samplers["scoring"].result()
        if mode not in self.probes:
            collected = self._collected.pop(mode, None)
            if "probes" in samplers:
                self.probes[mode] = samplers["probes"].result()
            elif not collected:
                return
            else:
                self.probes[mode] = {key: np.concatenate([part[key] for part in collected])
                                     for key in self.inputs}
        if not self._due(self.every):
            return
        transient(f"computing {mode} saliency maps and their metrics…")
        probes = self.probes[mode]
        follow(self._float32, self.model)
        completeness = self.scorecard.needs_completeness
        maps = self.method_set.explain(self.salnet, probes, completeness)
        data.write_without_log(self.salnet.outputs, self._paint(probes, maps, data.read_logs()))
        if self._due(self.score_every):
            self._score(data, probes, maps)

    def scores_of(self, mode, metrics=None):
        """``{(column, metric): (n,) scores}`` of ``mode``'s scoring set (else its probes) by the
        model as it is now, floors included (``Scorecard.per_sample``; ``metrics``: only these):
        ``ShortcutCheck`` reads the eval images' decoy scores at the weights test used."""
        images = self.scoring.get(mode) or self.probes.get(mode)
        if images is None:
            return {}
        follow(self._float32, self.model)
        maps = self.method_set.explain(self.salnet, images)
        return self.scorecard.per_sample(images, maps, metrics)

    def _mode_samplers(self, mode):
        """The StratifiedSamples collecting ``mode``'s probes and scoring set (those it needs)."""
        if mode not in self._samplers:
            seed = self.salnet.seed or 0
            wanted = {"probes": self.samples if self.stratified and mode not in self.probes else None,
                      "scoring": self.score_samples if mode not in self.scoring else None}
            self._samplers[mode] = {name: StratifiedSample(size, seed, self.model_inputs)
                                    for name, size in wanted.items() if size is not None}
        return self._samplers[mode]

    def _decoy_source(self, decoy_key, region):
        """``batch -> decoy masks``: the data's, under ``decoy_key``, or ``region``'s."""
        if decoy_key:
            return lambda batch: batch[decoy_key]
        if region is None:
            return None
        return lambda batch: region(batch[self.model_inputs],
                                    batch[self.class_key] if self.class_key else None)

    def _score(self, data, probes, maps):
        """Log every metric's mean and standard error over the scoring set (else over the
        ``probes``, whose ``maps`` these are; heavy methods only when ``heavy_every`` says),
        and write the scores image by image."""
        completeness = self.scorecard.needs_completeness
        scored = self.scoring.get(self.system.mode, probes)
        skipped = [] if self._due(self.heavy_every) else self.method_set.heavy_columns
        if scored is not probes:
            maps = self.method_set.explain(self.salnet, scored, completeness, [
                column for column in self.method_set.columns if column not in skipped])
        dropped = {raw_key(column) for column in skipped}
        maps = {key: value for key, value in maps.items() if key not in dropped}
        per_image = {}
        scored_maps = self.scorecard.per_sample(scored, maps)
        for (column, metric), scores in scored_maps.items():
            key = explanation_key(safe_name(column).lower(), metric)
            kind = find_metric(metric)
            floor = None if column in FLOOR_COLUMNS.values() or kind.floor is None else (
                scored_maps.get((FLOOR_COLUMNS[kind.floor], metric)))
            for suffix, value in summary(scores, kind, floor).items():
                data.write_with_log(f"{key}{suffix}", float(value))
            per_image[key.removeprefix(EXPLANATION)] = scores
        if not per_image:
            return
        weights = explained_weights(self.system, self.model)
        data.write_without_log(f"{self.salnet.outputs}_scores", ImageScores(
            image_ids(scored[self.model_inputs]), per_image, weights.kind, weights.epoch))

    def _due(self, every):
        """Whether this epoch is one of every ``every``-th eval epochs (None: none), the last
        epoch of fit, an eval pass outside fit (epoch 0, ``xaiexp explain explain.split=eval``:
        its only one) or a test epoch (see ``every``)."""
        system = self.system
        return (system.mode != "eval" or (every is not None and system.epoch_idx % every == 0)
                or system.epoch_idx == 0 or system.epoch_idx >= system.total_epochs
                or system.stop_training)

    def _paint(self, probes, maps, logs):
        """FastEstimator's columns (the overlay's name says which map it shows), titled with
        the mode, epoch and the epoch's ``accuracy`` when a trace logged one before this."""
        images = probes[self.model_inputs]
        columns = {}
        if self.class_key:
            columns[self.class_key] = self._names(class_indices(probes[self.class_key]))
        columns[self.model_outputs] = self._names(maps[self.model_outputs])
        columns[self.model_inputs] = images
        methods = list(self.method_set.columns)
        columns[f"{self.model_inputs} {self.salnet.outputs}"] = Overlay(images, maps[methods[-1]],
                                                                        method=methods[-1])
        columns.update((name, maps[name]) for name in methods)
        figure = ImgData(colormap="inferno", **columns)
        system = self.system
        title = [system.mode, f"epoch {system.epoch_idx}/{system.total_epochs}"]
        if "accuracy" in logs:
            title.append(f"accuracy {float(logs['accuracy']):.3f}")
        if self.class_key:
            figure.checked = (self.class_key, self.model_outputs)
            right = sum(a == b for a, b in zip(columns[self.class_key], columns[self.model_outputs]))
            title.append(f"{right}/{len(images)} probes right")
        figure.title = " \u00b7 ".join(title)
        return figure

    def _names(self, classes):
        if not self.class_names:
            return classes
        return np.array([self.class_names.get(int(c), str(c)) for c in classes])
