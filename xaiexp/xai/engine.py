"""The batched gradient core: a PassPlan's passes as one compiled TensorFlow call per chunk.

Each call builds its rows' path points in-graph (endpoints with noise, baselines, interpolation at
the quadrature nodes), takes the weighted target's gradient for all rows in one backward pass, and
sums rows into their terms; only the per-term sums leave the graph. Noise and random baselines are
the terms' draws (``draws.py``, made in NumPy and fed in): addressed by seed, stream and image, so
the results depend neither on how rows are cut into chunks nor on the other methods of the call.
Where completeness is asked for, each gapped term's score gap f(e) − f(b) is read by a second
compiled call: two forward passes a term, whatever its quadrature rule visits. Calls take every
size through one ``input_signature`` with open dimensions, so nothing retraces across chunks or
batches. (XLA, ``jit_compile=True``, measured slower on 2-core CPUs, and it compiles for 20-40 s.)
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from xaiexp.xai.baselines import BASELINES, DRAWN
from xaiexp.xai.draws import Draws
from xaiexp.xai.saliency_settings import NoiseRange, names


def _vector(dtype):
    return tf.TensorSpec((None,), dtype)


# What every call shares: each image's value range (its own, or the batch's: noise_range).
CONTEXT = {"low": _vector(tf.float32), "high": _vector(tf.float32)}
# A call's terms (PassPlan.term_tensors), and a chunk's rows (PassPlan.chunks).
TERMS = {
    "term_image": _vector(tf.int32),
    "term_spread": _vector(tf.float32),
    "term_integrated": _vector(tf.bool),
    "term_times_input": _vector(tf.bool),
    "term_scale": _vector(tf.float32),
}
CHUNK = {
    **TERMS,
    "row_term": _vector(tf.int32),
    "row_alpha": _vector(tf.float32),
    "row_weight": _vector(tf.float32),
    "valid_rows": tf.TensorSpec((), tf.int32),
}


class Attributions(NamedTuple):
    """A run's raw attributions (B, H, W, C) by method name, the (B,) score gaps of the methods
    whose gap is known (``PassPlan.gapped``), when asked for: what their attributions should add
    up to (completeness, Sundararajan et al. 2017); and the gradient passes it took."""

    maps: dict[str, np.ndarray]
    score_gaps: dict[str, np.ndarray]
    passes: int

    def completeness_errors(self):
        """(B,) float64 |Σ attributions − gap| / |gap| per gapped method (inf or NaN where the
        gap is 0): how far the quadrature over the path is from the integral."""
        errors = {}
        for name, gap in self.score_gaps.items():
            maps = self.maps[name]
            total = maps.reshape(len(maps), -1).sum(axis=1, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                errors[name] = np.abs(total - gap) / np.abs(gap)
        return errors


class GradientEngine:
    """Runs plans for one model; ``chunk_size`` bounds the rows (passes) per compiled call.

    ``model`` predicts; gradients are of ``explained`` (default: ``model``), e.g. its logits
    (``logits.py``). ``noise_range``: the max(x) − min(x) that scales the noise σ, and the range
    of the uniform and midpoint baselines: the whole batch's ("batch", FastEstimator's, so an
    image's map depends on the others) or each image's own ("image").
    """

    def __init__(self, model, baseline="uniform", chunk_size=1024, explained=None,
                 noise_range="batch"):
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {sorted(BASELINES)}, got {baseline!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if noise_range not in names(NoiseRange):
            raise ValueError(f"noise_range must be one of {list(names(NoiseRange))}, got "
                             f"{noise_range!r}")
        self.model = model
        self.explained = model if explained is None else explained
        self.noise_range = noise_range
        self.baseline = BASELINES[baseline]
        self.chunk_size = chunk_size
        self._compiled = {}  # image shape -> (predict, term_maps)
        self._compiled_gaps = {}  # image shape -> term_gaps

    def predict(self, images):
        """Model outputs for (B, H, W, C) float32 images, in chunks of ``chunk_size``."""
        predict, _ = self._functions(images.shape[1:])
        chunks = range(0, len(images), self.chunk_size)
        return np.concatenate([predict(images[i:i + self.chunk_size]).numpy() for i in chunks])

    def run(self, plan, images, classes, entropy, completeness=False,
            subset=None) -> Attributions:
        """Every method's raw attributions for the target ``classes`` of ``images``, and with
        ``completeness`` the score gaps of the plan's gapped methods. ``entropy``: the draws'
        seed (``draws.Draws``). ``subset``: the positions in ``images`` of the plan's images (all
        by default); their draws and value ranges stay those they have in the whole batch."""
        subset = np.arange(len(images)) if subset is None else np.asarray(subset)
        low, high = self._value_ranges(images)
        context = {"low": low[subset], "high": high[subset]}
        chosen = images[subset]
        tensors = tf.constant(chosen), tf.constant(classes[subset], tf.int32)
        draws = Draws(entropy, subset, images.shape[1:])
        _, term_maps = self._functions(images.shape[1:])
        results = np.zeros((len(plan.names), *chosen.shape), np.float32)
        carried = None  # the map of a term the previous chunk began
        for chunk in plan.chunks(self.chunk_size):
            terms = chunk.first_term + np.arange(len(chunk.tensors["term_image"]))
            noise, uniforms = plan.term_draws(terms, draws, self.drawn_baselines)
            maps = term_maps(*tensors, context, chunk.tensors, noise, uniforms).numpy()
            if carried is not None:
                maps[0] += carried
            finished = len(maps) - int(chunk.last_term_continues)
            carried = maps[-1] if chunk.last_term_continues else None
            plan.accumulate(results, maps[:finished], chunk.first_term)
        gaps = self._score_gaps(plan, tensors, context, draws) if completeness else {}
        return Attributions(dict(zip(plan.names, results)), gaps, plan.num_rows)

    @property
    def drawn_baselines(self):
        """Whether the baselines read the draws (the random ones)."""
        return self.baseline.__name__ in DRAWN

    def _value_ranges(self, images):
        """(low, high), each (B,) float32: each image's value range, or the batch's."""
        if self.noise_range == "image":
            flat = images.reshape(len(images), -1)
            low, high = flat.min(axis=1), flat.max(axis=1)
        else:
            low, high = np.full(len(images), images.min()), np.full(len(images), images.max())
        return low.astype(np.float32), high.astype(np.float32)

    def _score_gaps(self, plan, tensors, context, draws):
        """{gapped method: (images,) float64 mean score gap of its paths}, by forward passes on
        the paths' ends, ``chunk_size`` // 2 terms a call."""
        term_gaps = self._gap_function(draws.shape)
        gaps = {name: np.zeros(plan.num_images) for name in plan.gapped}
        terms = plan.gap_terms()
        step = max(1, self.chunk_size // 2)
        for start in range(0, len(terms), step):
            part = terms[start:start + step]
            noise, uniforms = plan.term_draws(part, draws, self.drawn_baselines)
            values = term_gaps(*tensors, context, plan.term_tensors(part), noise, uniforms)
            plan.accumulate_gaps(gaps, part, values.numpy().astype(np.float64))
        return gaps

    def _functions(self, image_shape):
        """The compiled predict and term-map functions for one image shape (traced once each)."""
        image_shape = tuple(image_shape)
        if image_shape not in self._compiled:
            images = tf.TensorSpec((None, *image_shape), tf.float32)
            predict = tf.function(lambda x: self.model(x, training=False), input_signature=[images])
            term_maps = tf.function(self._term_maps, input_signature=[
                images, _vector(tf.int32), CONTEXT, CHUNK, images, images])
            self._compiled[image_shape] = predict, term_maps
        return self._compiled[image_shape]

    def _gap_function(self, image_shape):
        """The compiled score-gap function for one image shape (traced once)."""
        image_shape = tuple(image_shape)
        if image_shape not in self._compiled_gaps:
            images = tf.TensorSpec((None, *image_shape), tf.float32)
            self._compiled_gaps[image_shape] = tf.function(self._term_gaps, input_signature=[
                images, _vector(tf.int32), CONTEXT, TERMS, images, images])
        return self._compiled_gaps[image_shape]

    def _ends(self, images, context, terms, noise, uniforms):
        """Each term's path ends (terms, H, W, C): the endpoint (its image plus σ·noise) and the
        baseline."""
        low, high = (tf.gather(context[end], terms["term_image"])[:, None, None, None]
                     for end in ("low", "high"))
        sigma = terms["term_spread"][:, None, None, None] * (high - low)
        endpoints = tf.gather(images, terms["term_image"]) + sigma * noise
        return endpoints, self.baseline(endpoints, low, high, uniforms)

    def _term_maps(self, images, classes, context, chunk, noise, uniforms):
        """Sum of the rows' weighted gradients per term, times (endpoint − baseline) on
        integrated terms, times the endpoint on ``times_input`` terms, and times the term's
        scale: (terms, H, W, C)."""
        num_terms = tf.shape(chunk["term_image"])[0]
        endpoints, baselines = self._ends(images, context, chunk, noise, uniforms)
        paths = endpoints - baselines

        row_term = chunk["row_term"]
        # endpoint − (1 − α)·path: exactly the endpoint at α = 1, the baseline at α = 0.
        remaining = (1.0 - chunk["row_alpha"])[:, None, None, None]
        points = tf.gather(endpoints, row_term) - remaining * tf.gather(paths, row_term)
        targets = tf.gather(classes, tf.gather(chunk["term_image"], row_term))
        with tf.GradientTape() as tape:
            tape.watch(points)
            outputs = self.explained(points, training=False)
            selected = tf.gather(outputs, targets, axis=1, batch_dims=1)
            weighted = selected * tf.cast(chunk["row_weight"], selected.dtype)
        gradients = tape.gradient(weighted, points)

        # Padding rows go to an extra segment that is dropped.
        rows = tf.range(tf.shape(row_term)[0])
        segments = tf.where(rows < chunk["valid_rows"], row_term, num_terms)
        sums = tf.math.unsorted_segment_sum(gradients, segments, num_terms + 1)[:-1]
        factors = tf.where(chunk["term_integrated"][:, None, None, None], paths,
                           tf.where(chunk["term_times_input"][:, None, None, None], endpoints, 1.0))
        return sums * factors * chunk["term_scale"][:, None, None, None]

    def _term_gaps(self, images, classes, context, terms, noise, uniforms):
        """f(e) − f(b) of each term's target score: (terms,)."""
        endpoints, baselines = self._ends(images, context, terms, noise, uniforms)
        targets = tf.gather(classes, terms["term_image"])
        outputs = self.explained(tf.concat([endpoints, baselines], 0), training=False)
        scores = tf.cast(tf.gather(outputs, tf.concat([targets, targets], 0), axis=1,
                                   batch_dims=1), tf.float32)
        return scores[:tf.shape(targets)[0]] - scores[tf.shape(targets)[0]:]
