"""Named attribution methods explained together: the Saliency trace's columns.

The gradient methods (vanilla, SmoothGrad, integrated gradients, SmInt, Gradient × Input and
VarGrad's noisy gradients) become terms of ONE ``SaliencyNet.explain`` call, so they share its
compiled chunks and the clean gradient; Grad-CAM and Occlusion need other computations and run
SaliencyNet's own batched calls.
"""

import numpy as np

from xaiexp.xai.gradient_x_input import gradient_x_input
from xaiexp.xai.integrated_gradients import integrated_gradients
from xaiexp.xai.masks import to_masks
from xaiexp.xai.smooth_grad import smooth_grad
from xaiexp.xai.smooth_integrated import smooth_integrated
from xaiexp.xai.vanilla_gradient import vanilla_gradient
from xaiexp.xai.vargrad import noisy_gradients, variance

# Method name -> column title, given the masks' name (e.g. "saliency"). The first four are
# FastEstimator's columns, in its order.
TITLES = {
    "vanilla": "{}",
    "smoothgrad": "Smoothed {}",
    "integrated": "Integrated {}",
    "smint": "SmInt {}",
    "gradient_x_input": "Gradient x Input {}",
    "vargrad": "VarGrad {}",
    "gradcam": "GradCAM {}",
    "occlusion": "Occlusion {}",
}
METHODS = tuple(TITLES)


class MethodSet:
    """The maps of ``methods`` (names from METHODS, in column order) for a batch.

    Args:
        methods: Method names; each becomes the column ``TITLES[name].format(outputs)``.
        outputs: The masks' name, e.g. "saliency".
        smoothing: Noisy samples of SmoothGrad and VarGrad.
        steps: Integration steps of integrated gradients and SmInt.
        smint_samples: SmInt's smoothing samples.
        occlusion: (patch, stride) of Occlusion, in pixels.
    """

    def __init__(self, methods, outputs="saliency", smoothing=25, steps=100, smint_samples=6,
                 occlusion=(4, 4)):
        methods = list(dict.fromkeys(methods))
        unknown = [name for name in methods if name not in TITLES]
        if unknown or not methods:
            raise ValueError(f"methods must be a non-empty list from {list(METHODS)}, got {methods}")
        requirements = [("smoothgrad", "smoothing", smoothing), ("vargrad", "smoothing", smoothing),
                        ("integrated", "integration steps", steps),
                        ("smint", "integration steps", steps), ("smint", "SmInt samples", smint_samples)]
        for name, setting, value in requirements:
            if name in methods and value < 1:
                raise ValueError(f"{name} needs {setting} >= 1, got {value}")
        self.columns = {TITLES[name].format(outputs): name for name in methods}
        recipes = {"vanilla": vanilla_gradient, "gradient_x_input": gradient_x_input,
                   "smoothgrad": lambda: smooth_grad(smoothing),
                   "integrated": lambda: integrated_gradients(steps),
                   "smint": lambda: smooth_integrated(smint_samples, steps)}
        self._gradients = {column: recipes[name]() for column, name in self.columns.items()
                           if name in recipes}
        self._vargrad = {column: {f"{column} {sample}": terms
                                  for sample, terms in noisy_gradients(smoothing).items()}
                         for column, name in self.columns.items() if name == "vargrad"}
        self.occlusion = occlusion

    def explain(self, salnet, batch, completeness=False):
        """``{salnet.model_outputs: predicted classes, column: (B, H, W, 1) masks, ...}`` in
        column order; with ``completeness``, also ``"<column> completeness"``: (B,) relative
        completeness errors of the methods that are one integrated term."""
        terms = {**self._gradients, **{k: v for samples in self._vargrad.values()
                                       for k, v in samples.items()}}
        results = {}
        if terms:
            raw = salnet.explain(batch, terms, raw=True, completeness=completeness)
            results[salnet.model_outputs] = raw[salnet.model_outputs]
            results.update((f"{column} completeness", raw[f"{column} completeness"])
                           for column in self._gradients if f"{column} completeness" in raw)
        for column, name in self.columns.items():
            if column in self._gradients:
                results[column] = to_masks(raw[column])
            elif column in self._vargrad:
                results[column] = to_masks(variance(np.stack([raw[sample] for sample in
                                                              self._vargrad[column]])))
            else:
                patch, stride = self.occlusion
                computed = (salnet.get_gradcam_masks(batch) if name == "gradcam" else
                            salnet.get_occlusion_masks(batch, patch=patch, stride=stride))
                results.setdefault(salnet.model_outputs, computed[salnet.model_outputs])
                results[column] = computed[salnet.outputs]
        return results
