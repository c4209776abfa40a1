"""SaliencyNet: FastEstimator's saliency API on the batched, compiled engine."""

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from xaiexp.backend import to_number
from xaiexp.xai.engine import Attributions, GradientEngine
from xaiexp.xai.class_activation import GradCam
from xaiexp.xai.logits import explained_model, probabilities
from xaiexp.xai.masks import to_masks
from xaiexp.xai.method import Method
from xaiexp.xai.methods.gradient_x_input import gradient_x_input
from xaiexp.xai.methods.integrated import integrated_gradients
from xaiexp.xai.methods.smint import smooth_integrated
from xaiexp.xai.methods.smoothgrad import smooth_grad
from xaiexp.xai.methods.vanilla import vanilla_gradient
from xaiexp.xai.methods.vargrad import noisy_gradients, variance
from xaiexp.xai.patch_drops import occlusion
from xaiexp.xai.plan import PassPlan
from xaiexp.xai.refine import refine
from xaiexp.xai.saliency_settings import DEFAULTS

Batch = Mapping[str, Any]  # key -> a batch of values (arrays or tensors)
Results = dict[str, np.ndarray]  # model_outputs: predicted classes, then masks by name


def class_indices(labels: Any) -> np.ndarray:
    """Integer classes (B,) from labels shaped (B,), (B, 1) or one-hot (B, classes)."""
    labels = to_number(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        return labels.argmax(axis=-1)
    return labels.reshape(len(labels)).astype(np.int64)


class SaliencyNet:
    """Generates saliency masks of a Keras classifier for batches of data.

    Semantics are FastEstimator's (README, "Saliency maps"): each method explains the model
    output at the argmax class of the clean input, also on its noisy and interpolated copies,
    and masks are normalized per image. Every gradient pass of a call runs in compiled chunks of
    at most ``chunk_size`` passes, never one eager call per sample. Beyond FastEstimator's methods:
    Gradient × Input and VarGrad (on the same engine), Grad-CAM and Occlusion (own batched
    calls), all with the same targets, normalization and ``raw`` option.

    Args:
        model: The Keras model to inspect; called with ``training=False``.
        model_inputs: Batch key of the model's input images (B, H, W, C).
        model_outputs: Key under which results hold the predicted classes (B,).
        outputs: Key under which results hold the masks.
        chunk_size: Most gradient passes per compiled call. It bounds memory (about
            ``chunk_size`` images' activations) whatever the smoothing and integration counts;
            results do not depend on it.
        seed: None draws fresh noise and baselines on every call; an int makes every call draw
            the same ones, so repeated calls (e.g. each epoch) are comparable. Each method draws
            from its own stream, seeded by the seed, the method's name and the image, so its
            maps do not depend on the other methods of a call (README, "Fewer passes").
        target: "predicted" explains the predicted class; a batch key (class indices or one-hot)
            explains that class instead, e.g. the true label.
        baseline: Where integration paths start: "uniform" (random in the value range of
            ``noise_range``), "midpoint" (FastEstimator's code), "zeros", "mean" or "blur";
            see ``baselines.py``.
        output: What the gradient methods and Grad-CAM explain: the target class's
            "probability" (the model's output, FastEstimator's) or its pre-softmax "logit"
            (``logits.py``). Occlusion and the predictions always read the model's output.
        noise_range: The max(x) − min(x) of the noise σ and of the uniform and midpoint
            baselines: "batch" (the whole batch's, FastEstimator's) or "image" (each image's
            own, so an image's map does not depend on the other images).
        from_logits: ``model`` outputs logits (no final softmax): the probability explained,
            occluded and scored is their softmax (``logits.probabilities``), and "logit" explains
            the model's output itself.
    """

    def __init__(self, model: keras.Model, model_inputs: str, model_outputs: str,
                 outputs: str = "saliency", chunk_size: int = DEFAULTS.chunk_size,
                 seed: int | None = None, target: str = "predicted", baseline: str = "uniform",
                 output: str = DEFAULTS.output, noise_range: str = DEFAULTS.noise_range,
                 from_logits: bool = False) -> None:
        model = probabilities(model) if from_logits else model
        self.model_inputs = model_inputs
        self.model_outputs = model_outputs
        self.outputs = outputs
        self.seed = seed
        self.target = target
        self.output = output
        self.engine = GradientEngine(model, baseline=baseline, chunk_size=chunk_size,
                                     explained=explained_model(model, output),
                                     noise_range=noise_range)
        self._grad_cams: dict[str | None, GradCam] = {}  # layer name (None: the last feature layer) -> GradCam

    def get_masks(self, batch: Batch, raw: bool = False) -> Results:
        """Vanilla gradient masks. With ``raw``, the un-normalized (B, H, W, C) gradients."""
        return self.explain(batch, {self.outputs: vanilla_gradient()}, raw)

    def get_smoothed_masks(self, batch: Batch, stdev_spread: float = 0.15,
                           nsamples: int = DEFAULTS.smoothing, nintegration: int | None = None,
                           magnitude: bool = True, raw: bool = False, rule: str = "linspace",
                           sampling: str = "random") -> Results:
        """SmoothGrad masks over ``nsamples`` samples (the clean input and noisy copies with
        σ = ``stdev_spread`` · (max(x) − min(x))); with ``nintegration``, SmInt: each noisy
        copy's integrated-gradient map over that many nodes of the quadrature ``rule`` is
        smoothed instead. ``sampling``: how the noise (and SmInt's baselines) are drawn."""
        if nintegration:
            method = smooth_integrated(nsamples, nintegration, stdev_spread, magnitude, rule,
                                       sampling)
        else:
            method = smooth_grad(nsamples, stdev_spread, magnitude, sampling)
        return self.explain(batch, {self.outputs: method}, raw)

    def get_integrated_masks(self, batch: Batch, nsamples: int = 25, raw: bool = False,
                             rule: str = "linspace", baselines: int = 1, sampling: str = "random",
                             tolerance: float | None = None, max_steps: int = 64) -> Results:
        """Integrated-gradient masks over ``nsamples`` nodes of the quadrature ``rule`` from the
        baseline to the input, averaged over ``baselines`` random baselines drawn by
        ``sampling``. With ``raw``, the attributions (x − b)·mean(gradients), which sum to
        f(x) − f(b). ``tolerance``: see ``explain``."""
        method = integrated_gradients(nsamples, rule, baselines, sampling)
        return self.explain(batch, {self.outputs: method}, raw, tolerance=tolerance,
                            max_steps=max_steps)

    def get_gradient_x_input_masks(self, batch: Batch, raw: bool = False) -> Results:
        """Gradient × Input masks; with ``raw``, gradient · x per element."""
        return self.explain(batch, {self.outputs: gradient_x_input()}, raw)

    def get_vargrad_masks(self, batch: Batch, nsamples: int = DEFAULTS.smoothing,
                          stdev_spread: float = 0.15, raw: bool = False,
                          sampling: str = "random") -> Results:
        """VarGrad masks: the variance of ``nsamples`` gradients at x + N(0, σ²), σ =
        ``stdev_spread`` · (max(x) − min(x)), the noise drawn by ``sampling``; all passes share
        the compiled calls."""
        images, predictions, classes = self.targets(batch)
        samples = self._attributions(images, classes,
                                     noisy_gradients(nsamples, stdev_spread, sampling)).maps
        return self._results(predictions, {self.outputs: variance(list(samples.values()))}, raw)

    def get_gradcam_masks(self, batch: Batch, layer: str | None = None, raw: bool = False) -> Results:
        """Grad-CAM masks (B, H, W, 1) from ``layer`` (default: the last layer with a 4-D
        output); with ``raw``, the ReLU'd class activation map resized to the input."""
        if layer not in self._grad_cams:
            self._grad_cams[layer] = GradCam(self.engine.explained, layer, self.engine.chunk_size)
        images, predictions, classes = self.targets(batch)
        return self._results(predictions, {self.outputs: self._grad_cams[layer](images, classes)},
                             raw)

    def get_occlusion_masks(self, batch: Batch, patch: int = 4, stride: int = 4, fill: float = 0.0,
                            raw: bool = False) -> Results:
        """Occlusion masks (B, H, W, 1): the target's score drop when ``patch`` × ``patch``
        squares (every ``stride`` pixels) are set to ``fill``, averaged per pixel; all occluded
        copies are scored in chunks of ``chunk_size``."""
        images, predictions, classes = self.targets(batch)
        drops = occlusion(self.engine.predict, images, classes, patch, stride, fill,
                          self.engine.chunk_size)
        return self._results(predictions, {self.outputs: drops}, raw)

    def explain(self, batch: Batch, methods: Mapping[str, Method], raw: bool = False,
                completeness: bool = False, tolerance: float | None = None,
                max_steps: int = 64) -> Results:
        """Several methods in one go, e.g. ``{"saliency": vanilla_gradient(), "smoothed":
        smooth_grad(25)}``: their passes share the compiled calls, and the clean gradient is
        computed once. Returns ``{model_outputs: predicted classes, name: masks, ...}``.

        With ``completeness``, also ``f"{name} completeness"`` for each method that is one
        unsquared integrated term (``integrated_gradients``): the (B,) float64 relative error
        |Σ raw attributions − (f(x) − f(b))| / |f(x) − f(b)| of exactly these maps, whatever the
        baseline, random ones included (Sundararajan et al. 2017's completeness; x is the path's
        end, the noisy copy on a noisy path; inf or NaN where f(x) = f(b)); for a method averaged
        over several baselines, of the mean gap. It costs two forward passes per path. A one-step
        path (``nsamples=1``) is one gradient, not an integral, so it gets no key.

        With ``tolerance``, those methods are refined image by image: an image whose error is
        above it is explained again with twice the steps, up to ``max_steps`` (``refine.py``).
        """
        images, predictions, classes = self.targets(batch)
        attributions = self._attributions(images, classes, methods, completeness, tolerance,
                                          max_steps)
        results = self._results(predictions, attributions.maps, raw)
        if completeness:
            errors = attributions.completeness_errors()
            results.update({f"{name} completeness": error for name, error in errors.items()})
        return results

    def attributions(self, batch: Batch, methods: Mapping[str, Method], completeness: bool = False,
                     tolerance: float | None = None, max_steps: int = 64) -> Attributions:
        """What ``explain`` reads: the raw (B, H, W, C) attributions by name, the score gaps of
        the methods that have one (with ``completeness`` or ``tolerance``), and the gradient
        passes the call took (refinements included)."""
        images, _, classes = self.targets(batch)
        return self._attributions(images, classes, methods, completeness, tolerance, max_steps)

    def targets(self, batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The batch's float32 images, their predicted classes and the classes to explain."""
        images = to_number(batch[self.model_inputs]).astype(np.float32)
        if not len(images):
            raise ValueError(f"batch[{self.model_inputs!r}] holds no images")
        predictions = self.engine.predict(images).argmax(axis=-1)
        if self.target == "predicted":
            return images, predictions, predictions
        return images, predictions, class_indices(batch[self.target])

    def _attributions(self, images: np.ndarray, classes: np.ndarray, methods: Mapping[str, Method],
                      completeness: bool = False, tolerance: float | None = None,
                      max_steps: int = 64) -> Attributions:
        """Raw attributions (and score gaps, with ``completeness`` or ``tolerance``), drawing
        noise and baselines from ``seed``; refined to ``tolerance`` when given."""
        entropy = np.random.SeedSequence(self.seed).entropy
        gaps = completeness or tolerance is not None

        def run(chosen: Mapping[str, Method], subset: np.ndarray | None = None) -> Attributions:
            count = len(images) if subset is None else len(subset)
            return self.engine.run(PassPlan(chosen, count), images, classes, entropy, gaps, subset)

        result = run(methods)
        return result if tolerance is None else refine(run, methods, result, tolerance, max_steps)

    def _results(self, predictions: np.ndarray, attributions: Mapping[str, np.ndarray],
                 raw: bool) -> Results:
        masks = attributions if raw else {name: to_masks(a) for name, a in attributions.items()}
        return {self.model_outputs: predictions, **masks}
