"""The shortcut check's verdict: did the model learn the decoy patch instead of the object?

On ``dataset.shortcut`` the eval split carries class-coded patches like train and the test split
random ones, so the eval − test accuracy gap is what the patch was worth to the model. The
Saliency trace's decoy scores against its object scores on the test probes say whether the
explanations show it.
"""

import re

_DECOY_SCORE = re.compile(r"xai/(?P<method>[^/]+)/decoy_(?P<metric>mass|pointing_game)")
_OBJECT_METRIC = {"mass": "relevance_mass", "pointing_game": "pointing_game"}
_PHRASE = {"mass": "relevance mass", "pointing_game": "hottest pixel (pointing game)"}


def accuracy_gap(logs):
    """Eval accuracy (patch coded, as in train) minus test accuracy (patch random)."""
    return float(logs["eval"]["accuracy"] - logs["test"]["accuracy"])


def describe(logs):
    """The verdict for the console: the gap, then per method the test probes' share on the
    patch next to the share on the object."""
    lines = [f"shortcut check: eval accuracy {logs['eval']['accuracy']:.3f} (patch coded as in "
             f"train) vs test {logs['test']['accuracy']:.3f} (patch random): gap "
             f"{accuracy_gap(logs):.3f}"]
    for key, value in logs["test"].items():
        match = _DECOY_SCORE.fullmatch(key)
        if match:
            method, metric = match["method"], match["metric"]
            on_object = logs["test"].get(f"xai/{method}/{_OBJECT_METRIC[metric]}")
            versus = "" if on_object is None else f", on the object {float(on_object):.2f}"
            lines.append(f"  {method} {_PHRASE[metric]}: on the patch {float(value):.2f}{versus}")
    return "\n".join(lines)
