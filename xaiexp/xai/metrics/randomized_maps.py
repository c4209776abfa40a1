"""The randomized models of the Scorecard's randomization metrics, and their maps.

The fully randomized model (every weighted layer re-initialized) is one fixed copy with fresh
weights: nothing is traced again from epoch to epoch. With ``cascading``, Adebayo et al.'s
cascade adds one copy per weighted layer from the top down, that layer and those above it
re-initialized (fixed), the layers below following the trained model's current weights."""

import keras

from xaiexp.xai.method_set import raw_key
from xaiexp.xai.metrics.randomization import randomized_clone, visible_pixels
from xaiexp.xai.registry import cascade_key
from xaiexp.xai.saliency import SaliencyNet

TRAINED_CLASSES = "trained classes"  # batch key: the randomized models explain the same classes


class RandomizedMaps:
    """Scores maps of ``salnet``'s model against those of its randomized copies (see above)."""

    def __init__(self, salnet: SaliencyNet, method_set, cascading: bool = False):
        self.salnet, self.method_set = salnet, method_set
        trained = salnet.engine.model
        fresh = randomized_clone(trained)
        weighted = [i for i, layer in enumerate(trained.layers) if layer.weights][::-1]
        self.steps = []  # (model, indices of the layers that follow the trained model)
        for top in range(1, len(weighted)) if cascading else ():
            step = keras.models.clone_model(trained)
            for i in weighted[:top]:
                step.layers[i].set_weights(fresh.layers[i].get_weights())
            self.steps.append((self._explainer(step), weighted[top:]))
        self.steps.append((self._explainer(fresh), []))

    def _explainer(self, model):
        salnet = self.salnet
        return SaliencyNet(model, salnet.model_inputs, salnet.model_outputs, salnet.outputs,
                           chunk_size=salnet.engine.chunk_size, seed=salnet.seed,
                           target=TRAINED_CLASSES, output=salnet.output,
                           noise_range=salnet.engine.noise_range)

    def scores(self, batch, raw, classes, metrics) -> dict:
        """``{metric or its cascade_key: {column: (B,) scores}}`` of ``metrics`` ({name:
        ``Metric.similarity``}) between the ``raw`` maps ({column: (B, H, W, 1)}) of ``batch`` and
        the randomized models' maps of the same ``classes``."""
        probes = {self.salnet.model_inputs: batch[self.salnet.model_inputs],
                  TRAINED_CLASSES: classes}
        trained_layers = self.salnet.engine.model.layers
        scores = {}
        for top, (explainer, following) in enumerate(self.steps, 1):
            for i in following:
                explainer.engine.model.layers[i].set_weights(trained_layers[i].get_weights())
            randomized = self.method_set.explain(explainer, probes, columns=list(raw))
            for metric, similarity in metrics.items():
                key = metric if top == len(self.steps) else cascade_key(metric, top)
                scores[key] = {c: similarity(
                    raw[c], randomized[raw_key(c)],
                    visible_pixels(raw[c], randomized[raw_key(c)])) for c in raw}
        return scores

