"""Named attribution methods explained together: the Saliency trace's columns.

The gradient passes of every chosen method (vanilla, SmoothGrad, integrated gradients, SmInt,
Gradient × Input, VarGrad's noisy gradients) become terms of ONE ``SaliencyNet.explain`` call, so
they share its compiled chunks and the clean gradient; Grad-CAM and Occlusion run SaliencyNet's
own batched calls. The methods are those of ``xaiexp.xai.registry``. Each column comes twice:
as display masks (normalized and clipped, for the figures) and as raw relevance (the metrics').
"""

from collections.abc import Mapping

from xaiexp.xai.kinds import Settings
from xaiexp.xai.saliency_settings import DEFAULTS, PassOptions, patch_and_stride
from xaiexp.xai.masks import relevance, to_masks
from xaiexp.xai.registry import check_settings, find_methods


def raw_key(column: str) -> str:
    """Where ``MethodSet.explain`` puts a column's raw relevance."""
    return f"{column} raw"


class MethodSet:
    """The maps of ``methods`` (names from ``registry.method_names()``, in column order).

    Args:
        methods: Method names; each becomes the column ``method.title.format(outputs)``.
        outputs: The masks' name, e.g. "saliency".
        smoothing: Noisy samples of SmoothGrad and VarGrad.
        steps: Integration steps of integrated gradients and SmInt.
        smint_samples: SmInt's smoothing samples.
        occlusion: (patch, stride) of Occlusion, in pixels (or an ``OcclusionSettings``).
        passes: How the gradient methods spend their passes: quadrature rule, sampling of the
            noise and baselines, IG's baselines, completeness tolerance (``PassOptions``, or a
            mapping of its fields; None: FastEstimator's).
    """

    def __init__(self, methods, outputs="saliency", smoothing=DEFAULTS.smoothing,
                 steps=DEFAULTS.integrating[0], smint_samples=DEFAULTS.integrating[1],
                 occlusion=DEFAULTS.occlusion, passes: PassOptions | Mapping | None = None):
        chosen = find_methods(methods)
        problem = check_settings(chosen, smoothing, steps, smint_samples)
        if problem:
            raise ValueError(problem.message)
        if not isinstance(passes, PassOptions):
            passes = PassOptions(**(passes or {}))
        self.settings = Settings(smoothing, steps, smint_samples, patch_and_stride(occlusion),
                                 passes)
        self.columns = {method.title.format(outputs): name for name, method in chosen.items()}
        self._methods = {column: chosen[name] for column, name in self.columns.items()}
        # column -> {pass key: recipe}, run together in the shared engine call
        self._passes = {column: {f"{column}{suffix}": terms for suffix, terms
                                 in method.passes(self.settings).items()}
                        for column, method in self._methods.items()}

    @property
    def heavy_columns(self) -> list[str]:
        """The columns of ``heavy`` methods (SmInt, Occlusion), in column order."""
        return [column for column, method in self._methods.items() if method.heavy]

    def explain(self, salnet, batch, completeness=False, columns=None):
        """``{salnet.model_outputs: predicted classes, column: (B, H, W, 1) masks, ...}`` in
        column order, and under ``raw_key(column)`` the same maps' raw relevance (B, H, W, 1):
        |attribution| summed over channels, before the masks' normalization and clip (from the
        same passes); with ``completeness``, also ``"<column> completeness"``: (B,) relative
        completeness errors of the methods that are one integrated term. ``columns``: only
        these of the columns (None: all)."""
        chosen = {column: method for column, method in self._methods.items()
                  if columns is None or column in columns}
        passes = {key: terms for column in chosen for key, terms in self._passes[column].items()}
        if passes:
            options = self.settings.passes
            raw = salnet.explain(batch, passes, raw=True, completeness=completeness,
                                 tolerance=options.tolerance, max_steps=options.max_steps)
        else:  # no gradient passes to read the predictions from
            raw = {salnet.model_outputs: salnet.targets(batch)[1]}
        results = {salnet.model_outputs: raw[salnet.model_outputs]}
        results.update((f"{column} completeness", raw[f"{column} completeness"])
                       for column in chosen if f"{column} completeness" in raw)
        for column, method in chosen.items():
            maps = [raw[key] for key in self._passes[column]]
            attributions = method.attributions(salnet, batch, maps, self.settings)
            results[column] = to_masks(attributions)
            results[raw_key(column)] = relevance(attributions)
        return results
