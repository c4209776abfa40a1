"""The shortcut check as a trace: at the end of test (or of a closing eval pass, as ``xaiexp
explain explain.split=eval`` makes), is the model relying on a shortcut?

It counts each eval and test epoch's correct predictions, and with a Saliency trace that scores
a decoy region (``decoy_key`` masks in the data, or a ``decoy`` region) it has the eval images
(which carry the shortcut as train does) explained again by the weights test used, then weighs
both kinds of evidence (``xaiexp.xai.verdict``). Every number is of the weights test used: with
a best-model saver that restores its best weights, those of the best eval epoch.
"""

import sys
from dataclasses import astuple

import numpy as np

from xaiexp.trace.trace import Trace
from xaiexp.trace.xai.weights import explained_weights
from xaiexp.util.util import safe_name
from xaiexp.xai import statistics
from xaiexp.xai.registry import decoy_names, mask_metric_names
from xaiexp.xai.saliency import class_indices
from xaiexp.xai.verdict import Accuracy, Verdict, attention, judge


class ShortcutCheck(Trace):
    """Prints and logs the shortcut verdict after test; without a decoy region, only warns when
    test accuracy is no better than chance (the explanation scores then mean nothing).

    Args:
        saliency: The Saliency trace whose decoy scores are the evidence (None: none).
        model: The model test evaluates (to name the weights the verdict is about).
        true_key, pred_key: Batch keys of the labels and the predicted class scores.

    Logged at test: ``shortcut/accuracy_gap`` (eval − test accuracy, with ``_ci_low`` and
    ``_ci_high``), per method ``shortcut/<method>/<decoy metric>`` with its ``_lift`` (times the
    uniform map's) and ``_floor_p``; tags ``xaiexp.shortcut`` (the answer) and
    ``xaiexp.shortcut_reason``; ``shortcut/test_epoch_<n>.npz`` holds the per-method numbers.
    """

    def __init__(self, saliency=None, model=None, true_key="y", pred_key="y_pred",
                 mode=("eval", "test")):
        super().__init__(inputs=(true_key, pred_key), outputs="shortcut", mode=mode)
        self.saliency = saliency
        self.model = model if model is not None else getattr(saliency, "model", None)
        self.eval_accuracy = {}  # eval epoch -> Accuracy
        self.verdict = None
        self.weights = None  # the weights the verdict is about (trace/xai/weights.py)
        self._tally = []

    def on_epoch_begin(self, data):
        self._tally = []

    def on_batch_end(self, data):
        labels, predictions = (np.asarray(data[key]) for key in self.inputs)
        self._tally.append((class_indices(labels), np.argmax(predictions, axis=-1).reshape(-1)))

    def on_epoch_end(self, data):
        accuracy = self._accuracy()
        if accuracy is None:
            return
        if self.system.mode == "eval" and self.system.epoch_idx:  # an epoch of fit's
            self.eval_accuracy[self.system.epoch_idx] = accuracy
            return
        self.weights = weights = explained_weights(self.system, self.model)
        about = self.eval_accuracy.get(weights.epoch) or (
            self.eval_accuracy[max(self.eval_accuracy)] if self.eval_accuracy else None)
        images, scores = self._decoy_scores()
        evidence = attention(scores, self._method_keys())
        if evidence:
            self.verdict = judge(evidence, images, about, accuracy)
            data.write_without_log("shortcut", VerdictRecord(self.verdict))
            logged = verdict_metrics(self.verdict)
            self.quiet_keys = tuple(logged)  # the console prints the verdict instead
            for key, value in logged.items():
                data.write_with_log(key, value)
        elif accuracy.above_chance_p >= statistics.ALPHA:
            self.verdict = judge({}, "", None, accuracy)

    def on_end(self, data):
        if self.verdict is not None:
            print("\n".join(verdict_lines(self.verdict, self.weights)), file=sys.stderr)

    def state_dict(self):
        return {"eval": {str(epoch): list(astuple(a)) for epoch, a in self.eval_accuracy.items()}}

    def load_state_dict(self, state):
        self.eval_accuracy = {int(epoch): Accuracy(*values) for epoch, values in state["eval"].items()}

    def _accuracy(self):
        if not self._tally:
            return None
        labels = np.concatenate([labels for labels, _ in self._tally])
        predicted = np.concatenate([predicted for _, predicted in self._tally])
        largest = np.unique(labels, return_counts=True)[1].max()
        return Accuracy(int((labels == predicted).sum()), len(labels), float(largest / len(labels)),
                        self.system.mode)

    def _decoy_scores(self):
        """(which images, their per-image mask scores): the eval images the Saliency trace kept
        when it has any (they carry the shortcut, as train does), else the test images; none
        without a decoy region."""
        saliency = self.saliency
        if saliency is None or saliency.scorecard.decoy is None:
            return "", {}
        mode = "eval" if "eval" in saliency.probes else "test"
        scores = saliency.scores_of(mode, mask_metric_names())
        count = len(next(iter(scores.values()))) if scores else 0
        return f"{count} {mode} images", scores

    def _method_keys(self):
        if self.saliency is None:
            return {}
        return dict(self.saliency.method_set.columns)


class VerdictRecord:
    """What MLflowTrace logs of a verdict besides its metrics: tags and the per-method numbers."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict

    def arrays(self):
        rows = [(method, a) for method, found in self.verdict.attention.items() for a in found]
        return {"method": np.array([m for m, _ in rows]), "metric": np.array([a.metric for _, a in rows]),
                "score": np.array([a.score.estimate for _, a in rows]),
                "lift": np.array([a.lift for _, a in rows]), "floor_p": np.array([a.p for _, a in rows])}

    def tags(self, mode):
        return {"xaiexp.shortcut": self.verdict.answer, "xaiexp.shortcut_reason": self.verdict.reason}


def verdict_metrics(verdict) -> dict[str, float]:
    """The numbers of ``verdict`` logged at test (see ``ShortcutCheck``)."""
    logged = {}
    if (gap := verdict.gap) is not None:
        logged |= {"shortcut/accuracy_gap": gap.estimate, "shortcut/accuracy_gap_ci_low": gap.low,
                   "shortcut/accuracy_gap_ci_high": gap.high}
    for method, found in verdict.attention.items():
        for a in found:
            key = f"shortcut/{safe_name(method)}/{a.metric}"
            logged |= {key: a.score.estimate, f"{key}_lift": a.lift, f"{key}_floor_p": a.p}
    return logged


def verdict_lines(verdict, weights=None) -> list[str]:
    """The verdict for the console, within 100 columns; ``weights`` (``trace.xai.weights.Weights``):
    the weights it is about."""
    which = ""
    if weights is not None and weights.kind == "best":
        which = f" of the best weights (eval epoch {weights.epoch}, by {weights.saver.metric})"
    elif weights is not None:
        which = f" of the {weights.kind} weights (epoch {weights.epoch})"
    if not verdict.attention:
        return [f"xaiexp: warning: {verdict.reason}"]
    lines = [f"xaiexp: shortcut check{which}: {verdict.answer.upper()}",
             f"  why: {verdict.reason}"]
    if verdict.eval is not None and verdict.test is not None:
        gap = verdict.gap
        lines.append(f"  accuracy: eval {verdict.eval.value:.3f} ({verdict.eval.correct}/{verdict.eval.n}) "
                     f"vs test {verdict.test.value:.3f} ({verdict.test.correct}/{verdict.test.n}): "
                     f"drop {gap.estimate:.3f} [{gap.low:.2f}, {gap.high:.2f}]")
    floors = {a.metric: a.floor for found in verdict.attention.values() for a in found}
    decoys = decoy_names()
    share = floors.get(decoys["relevance_mass"], next(iter(floors.values())))
    phrases = {decoy: metric.replace("_", " ") for metric, decoy in decoys.items()}
    lines.append(f"  decoy region: {share:.1%} of the pixels; on {verdict.images}: mean [95 % CI], "
                 f"x that share (a blind map's)")
    metrics = list(dict.fromkeys(a.metric for found in verdict.attention.values() for a in found))
    lines.append(("  " + "method".ljust(14) + "".join(f"decoy {phrases[m]}".ljust(29)
                                                      for m in metrics)).rstrip())
    for method, found in verdict.attention.items():
        cells = "".join(_cell(a).ljust(29) for a in found)
        tail = ("points at it" if verdict.points(method)
                else "ignores it" if verdict.ignores(method) else "")
        lines.append(f"  {method.ljust(14)}{cells}{tail}".rstrip())
    return lines


def _cell(found):
    score = found.score
    return f"{score.estimate:.3g} [{score.low:.2g}, {score.high:.2g}] x{found.lift:.1f}"
