"""The Saliency trace: saliency maps of fixed probe samples, painted at the end of every epoch."""

from collections.abc import Mapping

import numpy as np

from xaiexp.backend.precision import float32_copy, follow
from xaiexp.backend.to_number import to_number
from xaiexp.trace.trace import Trace
from xaiexp.trace.weights import explained_weights
from xaiexp.util.console import transient
from xaiexp.util.img_data import ImgData, Overlay
from xaiexp.util.util import safe_name
from xaiexp.xai import SaliencyNet
from xaiexp.xai.image_scores import ImageScores, image_ids
from xaiexp.xai.kinds import PassOptions
from xaiexp.xai.method_set import MethodSet, raw_key
from xaiexp.xai.metrics.scorecard import Scorecard
from xaiexp.xai.registry import DEFAULT_METRICS, default_methods
from xaiexp.xai.saliency import class_indices
from xaiexp.xai.stratified import StratifiedSample


def standard_error(scores):
    """The standard error of the mean of ``scores`` (ddof=1); 0 for a single score."""
    return float(np.std(scores, ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else 0.0


class Saliency(Trace):
    """Computes saliency maps of a model for a few probe samples throughout training.

    The probes are taken from the first batches of the first epoch in each mode and reused in
    later epochs, so the maps show how the model's attention changes. At each epoch end an
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
        occlusion: (patch, stride) in pixels of the occlusion method.
        mask_key: Batch key of ground-truth object masks (e.g. "mask" of the shapes dataset),
            needed by the relevance_mass and pointing_game metrics (skipped without it).
        decoy_key: Batch key of the masks of a planted shortcut (e.g. "decoy_mask"): each mask
            metric is also scored against them, logged as ``xai/<method>/decoy_mass`` and
            ``xai/<method>/decoy_pointing_game``.
        metrics: Names from ``xaiexp.xai.registry.metric_names()``; see ``Scorecard``. The
            default is ``registry.DEFAULT_METRICS``. They score the raw relevance, the figures
            show the normalized masks.
        output: What is explained: the target's "probability" (FastEstimator's) or its
            pre-softmax "logit"; see ``SaliencyNet``.
        noise_range: "batch" (FastEstimator's) or "image": whose value range scales the noise
            and the uniform baseline; see ``SaliencyNet``.
        deletion_baseline, insertion_baseline: What deleted pixels become and inserted pixels
            start from: "black", "mean", "blur" or a number (``metrics/faithfulness.py``).
        every: Explain every ``every``-th eval epoch (epochs ``every``, 2·``every``, ...), and
            always at the last epoch of fit (``system.total_epochs``, or an epoch a trace stopped
            training after) and in test mode; the probes are still collected in each mode's
            first epoch. 1: every epoch.
        score_samples: None scores the probes. An int: the metrics score instead a scoring set
            of that many images, class-stratified by ``class_key`` (``StratifiedSample``) and
            collected during each mode's first epoch, the same images in every run of a seed.
            Either way each metric is logged as its mean and as ``<metric>_se``, its standard
            error (sample standard deviation / √n), so ``mean ± 1.96·se`` is a 95 % interval,
            and the scores image by image are written (not logged) as ``ImageScores`` under
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
    """

    def __init__(self, model, model_inputs, model_outputs, class_key=None, label_mapping=None,
                 outputs="saliency", samples=None, mode=("eval", "test"), smoothing=25,
                 integrating=(100, 6), chunk_size=1024, seed=None, methods=None, occlusion=(4, 4),
                 mask_key=None, decoy_key=None, metrics=DEFAULT_METRICS,
                 output: str = "probability", noise_range: str = "batch",
                 deletion_baseline: str | float = "black", insertion_baseline: str | float = "blur",
                 every: int = 1, score_samples: int | None = None, heavy_every: int = 1,
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
        for name, value in (("every", every), ("heavy_every", heavy_every)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.every, self.heavy_every = every, heavy_every
        self.model = model  # explained through a float32 copy when it trains in mixed precision
        self.salnet = SaliencyNet(float32_copy(model), model_inputs, model_outputs,
                                  outputs=outputs, chunk_size=chunk_size, seed=seed, output=output,
                                  noise_range=noise_range)
        self.scorecard = Scorecard(metrics, self.salnet, self.method_set, mask_key, decoy_key,
                                   deletion_baseline, insertion_baseline)
        if isinstance(samples, dict):
            self.samples = None
            self.probes = {mode: {key: to_number(samples[key]) for key in self.inputs}
                           for mode in self.mode}
        else:
            self.samples = samples
            self.probes = {}  # mode -> {key: array}, fixed once the mode's first epoch ends
        self._collected = {}  # mode -> list of batch slices, during that first epoch
        self.score_samples = score_samples
        if score_samples is not None:
            StratifiedSample(score_samples)  # checks the size
        self.scoring = {}  # mode -> {key: array}: the scoring set, fixed as the probes are
        self._scoring = {}  # mode -> StratifiedSample, during that first epoch

    def needs_batch(self):
        """Only while this mode's probes or scoring set are being collected (its first epoch)."""
        if self.system is None:
            return True
        mode = self.system.mode
        return mode not in self.scoring if self.score_samples is not None else (
            mode not in self.probes)

    def on_batch_end(self, data):
        if not self.needs_batch():
            return
        mode = self.system.mode
        if self.score_samples is not None:
            batch = {key: to_number(data[key]) for key in self.inputs}
            classes = class_indices(batch[self.class_key]) if self.class_key else None
            self._scoring.setdefault(mode, StratifiedSample(self.score_samples)).add(batch, classes)
        if mode in self.probes:  # chosen probes
            return
        collected = self._collected.setdefault(mode, [])
        have = sum(len(part[self.model_inputs]) for part in collected)
        wanted = self.samples
        if wanted is None:  # the whole first batch, whatever its size
            wanted = have or len(data[self.model_inputs])
        if have < wanted:
            collected.append({key: to_number(data[key])[:wanted - have] for key in self.inputs})

    def on_epoch_end(self, data):
        mode = self.system.mode
        if mode in self._scoring:
            self.scoring[mode] = self._scoring.pop(mode).result()
        if mode not in self.probes:
            collected = self._collected.pop(mode, None)
            if not collected:
                return
            self.probes[mode] = {key: np.concatenate([part[key] for part in collected])
                                 for key in self.inputs}
        if not self._due(self.every):
            return
        transient(f"computing {mode} saliency maps and their metrics…")
        probes = self.probes[mode]
        follow(self.salnet.engine.model, self.model)
        completeness = self.scorecard.needs_completeness
        maps = self.method_set.explain(self.salnet, probes, completeness)
        data.write_without_log(self.salnet.outputs, self._paint(probes, maps, data.read_logs()))
        self._score(data, probes, maps)

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
        for (column, metric), scores in self.scorecard.per_sample(scored, maps).items():
            name = f"{safe_name(column).lower()}/{metric}"
            data.write_with_log(f"xai/{name}", float(np.mean(scores)))
            data.write_with_log(f"xai/{name}_se", standard_error(scores))
            per_image[name] = scores
        if not per_image:
            return
        weights = explained_weights(self.system, self.model)
        data.write_without_log(f"{self.salnet.outputs}_scores", ImageScores(
            image_ids(scored[self.model_inputs]), per_image, weights.kind, weights.epoch))

    def _due(self, every):
        """Whether this epoch is one of every ``every``-th eval epochs, the last epoch of fit,
        or a test epoch (see ``every``)."""
        system = self.system
        return (system.mode != "eval" or system.epoch_idx % every == 0
                or system.epoch_idx >= system.total_epochs or system.stop_training)

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
