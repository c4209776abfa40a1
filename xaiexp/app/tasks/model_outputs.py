"""The model's outputs, checked once before training on a few training images: class
probabilities (non-negative, each row summing to 1: a final softmax), or logits where the config
says so (``model.logits``, README "Your own model and data").

The loss, the saliency targets and the faithfulness curves read the outputs as one or the other.
A model that gives neither trains and logs numbers that mean nothing (a linear last layer logged
a deletion AUC of 57.7 "probability"), so it is refused before any training step or MLflow run.
"""

import keras
import numpy as np

from xaiexp.app.config.validate import model_keys
from xaiexp.util.errors import ConfigError

PROBES = 8  # training images the model is run on
SUM_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum (float32 softmax: ~1e-6)


def is_distribution(outputs: np.ndarray) -> bool:
    """Whether every row of ``outputs`` (B, classes) is a probability distribution."""
    return bool((outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1, rtol=0,
                                                      atol=SUM_TOLERANCE))


def check_outputs(cfg, model: keras.Model, images: np.ndarray, classes: int) -> None:
    """ConfigError unless ``model``'s outputs for ``images`` are (B, ``classes``) finite numbers
    that are what ``cfg.model`` declares: probabilities, or logits with ``model.logits``."""
    outputs = keras.ops.convert_to_numpy(model(images, training=False)).astype(np.float64)
    name = _name(cfg.model)
    if outputs.ndim != 2 or outputs.shape[1] != classes:
        raise ConfigError("model", f"{name} outputs {tuple(outputs.shape)} for {len(images)} images; "
                                   f"expected (images, {classes}): a score for each class")
    if not np.isfinite(outputs).all():
        raise ConfigError("model", f"{name} outputs NaN or infinite values for training images, "
                                   f"before any training")
    declared, distribution = model_keys(cfg.model).logits, is_distribution(outputs)
    if declared and distribution:
        raise ConfigError("model.logits", f"is true, but {name} outputs probabilities (non-negative "
                                          f"rows summing to 1: a softmax); set model.logits=false")
    if not declared and not distribution:
        sums = outputs.sum(axis=1)
        override = ("" if "logits" in cfg.model else "+") + "model.logits=true"
        raise ConfigError("model.logits", f"{name} outputs no probabilities (values {outputs.min():.3g} "
                                          f"to {outputs.max():.3g}, rows summing to {sums.min():.3g} to "
                                          f"{sums.max():.3g}): if they are logits, say so with "
                                          f"{override}; else end the model with a softmax")


def _name(model):
    """The model as the config names it: its target, and a saved model's file."""
    path = model.get("path")
    return f"{model._target_} ({path})" if path else model._target_
