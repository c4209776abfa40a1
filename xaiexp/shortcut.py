"""The shortcut check's verdict: did the model learn the decoy patch instead of the object?

On ``dataset.shortcut`` the eval split carries class-coded patches like train and the test split
random ones, so the eval − test accuracy gap is what the patch was worth to the model. The
Saliency trace's decoy scores against its object scores on the test images say whether the
explanations show it. Every number is of the weights test used: with a best-model saver that
restores its best weights (``load_best_final``) those of the best eval epoch, not the last.
"""

import re

from xaiexp.trace.weights import Weights

_DECOY_SCORE = re.compile(r"xai/(?P<method>[^/]+)/decoy_(?P<metric>mass|pointing_game)")
_OBJECT_METRIC = {"mass": "relevance_mass", "pointing_game": "pointing_game"}
_PHRASE = {"mass": "relevance mass", "pointing_game": "hottest pixel (pointing game)"}


def eval_accuracy(logs, weights: Weights | None = None) -> float:
    """The eval accuracy of the weights test used (``weights``, see ``trace.weights``): the
    best-model saver's best when it restored weights chosen by accuracy, else the last eval
    epoch's (also when it chose them by another metric: then ``describe`` says so)."""
    if weights is not None and weights.kind == "best" and weights.saver.metric == "accuracy":
        return float(weights.saver.best)
    return float(logs["eval"]["accuracy"])


def accuracy_gap(logs, weights: Weights | None = None) -> float:
    """Eval accuracy (patch coded, as in train) minus test accuracy (patch random), both of the
    weights test used."""
    return eval_accuracy(logs, weights) - float(logs["test"]["accuracy"])


def describe(logs, weights: Weights | None = None) -> str:
    """The verdict for the console: which weights, the gap, then per method the test images'
    share on the patch next to the share on the object."""
    lines = [f"shortcut check{_which(weights)}: eval accuracy {eval_accuracy(logs, weights):.3f} "
             f"(patch coded as in train) vs test {logs['test']['accuracy']:.3f} (patch random): "
             f"gap {accuracy_gap(logs, weights):.3f}"]
    if weights is not None and weights.kind == "best" and weights.saver.metric != "accuracy":
        lines.append(f"  (the eval accuracy is the last epoch's: the best-model saver chose epoch "
                     f"{weights.epoch} by {weights.saver.metric})")
    for key, value in logs["test"].items():
        match = _DECOY_SCORE.fullmatch(key)
        if match:
            method, metric = match["method"], match["metric"]
            on_object = logs["test"].get(f"xai/{method}/{_OBJECT_METRIC[metric]}")
            versus = "" if on_object is None else f", on the object {float(on_object):.2f}"
            lines.append(f"  {method} {_PHRASE[metric]}: on the patch {float(value):.2f}{versus}")
    return "\n".join(lines)


def _which(weights):
    if weights is None:
        return ""
    if weights.kind == "best":
        return f" of the best weights (eval epoch {weights.epoch}, by {weights.saver.metric})"
    return f" of the final weights (epoch {weights.epoch})"
