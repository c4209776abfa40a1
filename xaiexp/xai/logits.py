"""What a saliency method explains: the target class's probability (the model's output, as in
FastEstimator) or its pre-softmax logit.

Gradients of a softmax probability vanish where the model is confident, so a noisy copy that
keeps its class adds almost nothing and one that loses it adds a small gradient of the wrong
sign; gradients of the logit do not saturate (Smilkov et al., 2017, and Sundararajan et al.,
2017, explain logits). The logit model shares the classifier's weights, so it follows training.
"""

import keras

from xaiexp.xai.class_activation import layer_outputs
from xaiexp.xai.saliency_settings import ExplainedOutput, names


class DenseLogits(keras.layers.Layer):
    """``dense``'s affine part, x · kernel + bias, with its own variables: its output before
    the activation."""

    def __init__(self, dense, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense

    def call(self, inputs):
        logits = keras.ops.matmul(inputs, self.dense.kernel)
        return logits + self.dense.bias if self.dense.use_bias else logits


def probabilities(model: keras.Model) -> keras.Model:
    """A model of ``model``'s layers and weights (shared, so it follows training) whose output is
    the softmax of ``model``'s, for a model that outputs logits: ``explained_model`` of it finds
    ``model``'s output as the logit. Built on ``model``'s own graph where it has one, so its
    layers stay visible (Grad-CAM reads them)."""
    if getattr(model, "inputs", None) is None:  # a subclassed model: no graph of its own to extend
        return keras.Sequential([model, keras.layers.Softmax()], name=f"{model.name}_probabilities")
    inputs, _, outputs = layer_outputs(model)
    probability = keras.layers.Softmax(name=f"{model.name}_softmax")(outputs)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, probability,
                       name=f"{model.name}_probabilities")


def explained_model(model, output="probability"):
    """``model`` for "probability"; for "logit", a model of the same weights whose output is the
    input of the final softmax: the final ``Softmax`` (or ``Activation("softmax")``) layer's
    input, or a final ``Dense(activation="softmax")`` without its activation. A model whose
    final layer has no activation already outputs logits and is returned as it is."""
    if output not in names(ExplainedOutput):
        raise ValueError(f"output must be one of {list(names(ExplainedOutput))}, got {output!r}")
    if output == "probability" or outputs_logits(model):
        return model
    final = model.layers[-1]
    activation = getattr(final, "activation", None)
    inputs, features = _final_input(model)
    if isinstance(final, keras.layers.Softmax) or (
            isinstance(final, keras.layers.Activation) and activation is keras.activations.softmax):
        logits = features
    elif isinstance(final, keras.layers.Dense) and activation is keras.activations.softmax:
        logits = DenseLogits(final, name=f"{final.name}_logits")(features)
    else:
        raise ValueError(f"output='logit' needs model {model.name!r} to end in a softmax (a "
                         f"Dense with activation='softmax' or a Softmax layer), not "
                         f"{type(final).__name__} {final.name!r}")
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, logits,
                       name=f"{model.name}_logits")


def outputs_logits(model) -> bool:
    """Whether ``model`` ends in a Dense layer without activation: its outputs are logits, not
    probabilities."""
    final = model.layers[-1]
    return isinstance(final, keras.layers.Dense) and (
        getattr(final, "activation", None) is keras.activations.linear)


def _final_input(model):
    """``model``'s symbolic inputs and the input of its final layer, in ``model``'s own graph
    (``layer_outputs`` says why the layer's own ``input`` need not be)."""
    inputs, outputs, _ = layer_outputs(model)
    if isinstance(model, keras.Sequential):
        previous = list(outputs.values())[:-1]
        return inputs, previous[-1] if previous else inputs[0]
    final = model.layers[-1]
    (node,) = [node for nodes in model._nodes_by_depth.values() for node in nodes
               if node.operation is final]
    return inputs, node.input_tensors[0]
