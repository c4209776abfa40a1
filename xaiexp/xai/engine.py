"""The batched gradient core: a PassPlan's passes as one compiled TensorFlow call per chunk.

Each call builds its rows' path points in-graph (endpoints with noise, baselines, interpolation),
takes the target's gradient for all rows in one backward pass, and sums rows into their terms;
only the per-term sums leave the graph, with each integrated term's score gap f(e) − f(b) read
off the target scores at its path's ends, which the pass computes anyway. Noise and random
baselines come from Philox, a counter-based generator: term t always reads counter block t of a
stream keyed by the seed, so the numbers (and results) do not depend on how rows are cut into
chunks. Calls take every size
through one ``input_signature`` with open dimensions, so nothing retraces across chunks or
batches. (XLA, ``jit_compile=True``, measured slower on 2-core CPUs, and it compiles for 20-40 s.)
"""

import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from xaiexp.xai.baselines import BASELINES
from xaiexp.xai.registry import NOISE_RANGES

PHILOX = tf.random.Algorithm.PHILOX.value
PHILOX_BLOCK = 4  # numbers per Philox counter step


def _vector(dtype):
    return tf.TensorSpec((None,), dtype)


# What every chunk call shares: each image's value range (its own, or the batch's: noise_range),
# the random streams' keys, and the counter at which the chunk's first term reads them.
CONTEXT = {
    "low": _vector(tf.float32),
    "high": _vector(tf.float32),
    "noise_key": tf.TensorSpec((1,), tf.uint64),
    "baseline_key": tf.TensorSpec((1,), tf.uint64),
    "counter": tf.TensorSpec((2,), tf.uint64),
}
# A chunk's terms and rows, as PassPlan builds them (plan.py).
CHUNK = {
    "term_image": _vector(tf.int32),
    "term_spread": _vector(tf.float32),
    "term_integrated": _vector(tf.bool),
    "term_times_input": _vector(tf.bool),
    "term_scale": _vector(tf.float32),
    "row_term": _vector(tf.int32),
    "row_alpha": _vector(tf.float32),
    "row_gap_sign": _vector(tf.float32),
    "valid_rows": tf.TensorSpec((), tf.int32),
}


class Attributions(NamedTuple):
    """A run's raw attributions (B, H, W, C) by method name, and the (B,) score gaps
    f(e) − f(b) of the methods whose gap is known (``PassPlan.gapped``): what their
    attributions should add up to (completeness, Sundararajan et al. 2017)."""

    maps: dict[str, np.ndarray]
    score_gaps: dict[str, np.ndarray]

    def completeness_errors(self):
        """(B,) float64 |Σ attributions − gap| / |gap| per gapped method (inf or NaN where the
        gap is 0): how far the Riemann sum over the path is from the integral."""
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
        if noise_range not in NOISE_RANGES:
            raise ValueError(f"noise_range must be one of {list(NOISE_RANGES)}, got "
                             f"{noise_range!r}")
        self.model = model
        self.explained = model if explained is None else explained
        self.noise_range = noise_range
        self.baseline = BASELINES[baseline]
        self.chunk_size = chunk_size
        self._compiled = {}  # image shape -> (predict, term_maps)

    def predict(self, images):
        """Model outputs for (B, H, W, C) float32 images, in chunks of ``chunk_size``."""
        predict, _ = self._functions(images.shape[1:])
        chunks = range(0, len(images), self.chunk_size)
        return np.concatenate([predict(images[i:i + self.chunk_size]).numpy() for i in chunks])

    def run(self, plan, images, classes, keys) -> Attributions:
        """Every method's raw attributions and score gaps for the target ``classes``; ``keys``
        are the Philox keys of the noise and the baseline streams."""
        _, term_maps = self._functions(images.shape[1:])
        counters_per_term = math.ceil(images[0].size / PHILOX_BLOCK)
        images_tensor, classes_tensor = tf.constant(images), tf.constant(classes, tf.int32)
        if self.noise_range == "image":
            flat = images.reshape(len(images), -1)
            low, high = flat.min(axis=1), flat.max(axis=1)
        else:
            low, high = np.full(len(images), images.min()), np.full(len(images), images.max())
        context = {
            "low": low.astype(np.float32),
            "high": high.astype(np.float32),
            "noise_key": keys[:1],
            "baseline_key": keys[1:],
        }
        results = np.zeros((len(plan.names), *images.shape), np.float32)
        gaps = {name: np.zeros(len(images)) for name in plan.gapped}
        carried = None  # (map, gap) of a term the previous chunk began
        for chunk in plan.chunks(self.chunk_size):
            counter = np.array([chunk.first_term * counters_per_term, 0], np.uint64)
            maps, term_gaps = (t.numpy() for t in term_maps(
                images_tensor, classes_tensor, {**context, "counter": counter}, chunk.tensors))
            if carried is not None:
                maps[0] += carried[0]
                term_gaps[0] += carried[1]
            finished = len(maps) - int(chunk.last_term_continues)
            carried = (maps[-1], term_gaps[-1]) if chunk.last_term_continues else None
            plan.accumulate(results, gaps, maps[:finished], term_gaps[:finished],
                            chunk.first_term)
        return Attributions(dict(zip(plan.names, results)), gaps)

    def _functions(self, image_shape):
        """The compiled predict and term-map functions for one image shape (traced once each)."""
        image_shape = tuple(image_shape)
        if image_shape not in self._compiled:
            images = tf.TensorSpec((None, *image_shape), tf.float32)
            predict = tf.function(lambda x: self.model(x, training=False), input_signature=[images])
            term_maps = tf.function(self._term_maps,
                                    input_signature=[images, _vector(tf.int32), CONTEXT, CHUNK])
            self._compiled[image_shape] = predict, term_maps
        return self._compiled[image_shape]

    def _term_maps(self, images, classes, context, chunk):
        """Sum of row gradients per term, times (endpoint − baseline) on integrated terms, times
        the endpoint on ``times_input`` terms, and times the term's scale: (terms, H, W, C);
        and per term the target score's sum times ``row_gap_sign`` (f(e) − f(b) on integrated
        paths of two or more steps, else 0): (terms,)."""
        num_terms = tf.shape(chunk["term_image"])[0]
        image_shape = images.shape[1:]
        size = image_shape.num_elements()
        block = math.ceil(size / PHILOX_BLOCK) * PHILOX_BLOCK

        def draw(random_op, key):
            numbers = random_op(shape=[num_terms, block], key=key, counter=context["counter"],
                                alg=PHILOX)
            return tf.reshape(numbers[:, :size], [num_terms, *image_shape])

        low, high = (tf.gather(context[end], chunk["term_image"])[:, None, None, None]
                     for end in ("low", "high"))
        sigma = chunk["term_spread"][:, None, None, None] * (high - low)
        noise = draw(tf.raw_ops.StatelessRandomNormalV2, context["noise_key"])
        endpoints = tf.gather(images, chunk["term_image"]) + sigma * noise
        baselines = self.baseline(
            endpoints, low, high,
            lambda: draw(tf.raw_ops.StatelessRandomUniformV2, context["baseline_key"]),
        )
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
        gradients = tape.gradient(selected, points)

        # Padding rows go to an extra segment that is dropped.
        rows = tf.range(tf.shape(row_term)[0])
        segments = tf.where(rows < chunk["valid_rows"], row_term, num_terms)
        sums = tf.math.unsorted_segment_sum(gradients, segments, num_terms + 1)[:-1]
        signed = tf.cast(selected, tf.float32) * chunk["row_gap_sign"]
        gaps = tf.math.unsorted_segment_sum(signed, segments,
                                            num_terms + 1)[:-1]
        factors = tf.where(chunk["term_integrated"][:, None, None, None], paths,
                           tf.where(chunk["term_times_input"][:, None, None, None], endpoints, 1.0))
        return sums * factors * chunk["term_scale"][:, None, None, None], gaps
