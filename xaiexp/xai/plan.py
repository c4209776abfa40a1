"""Every gradient pass a batch needs for the requested methods, cut into chunks of rows.

Terms (method.py) with equal noise-free paths are shared between methods, so the clean gradient
that vanilla, SmoothGrad and SmInt all start from is computed once. Terms are numbered image-major
and their rows (one per gradient point: a node of the term's quadrature rule) are contiguous, so a
chunk holds a run of terms of which only the first and last may be partial; chunk rows are
generated on demand, keeping memory at O(terms + chunk_size) however many passes the methods ask
for. A random term is one draw of its stream (``draws.py``): the j-th random term of a stream
reads draw j of each image.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from xaiexp.xai.method import Method
from xaiexp.xai.quadrature import nodes_and_weights


@dataclass
class Chunk:
    """One compiled call's rows: a run of terms starting at global term ``first_term``.

    ``tensors`` feed the engine's compiled call; ``last_term_continues`` says the last term's
    remaining rows are in the next chunk, so its partial sum must be carried over.
    """

    first_term: int
    last_term_continues: bool
    tensors: dict


class Stream(NamedTuple):
    """A stream's draws per image and how they are sampled together."""

    count: int
    sampling: str


def _effective_weight(term):
    """What the term's quadrature weights add up to in its method: 1 for a path's mean value."""
    return term.weight * term.scale * term.steps


def _has_score_gap(terms):
    """Unsquared integrated paths whose weights make the mean of each path's integral: their
    attributions should add up to the same mean of f(e) − f(b). A one-step path is one gradient,
    not an estimate of the integral, so it has none."""
    return all(t.integrated and t.steps > 1 and not t.squared for t in terms) and math.isclose(
        sum(_effective_weight(t) for t in terms), 1.0, rel_tol=1e-6)


class PassPlan:
    """The passes of ``methods`` for ``num_images`` images. Each distinct term of the methods is
    a "kind"; term t is kind t % kinds of image t // kinds, and each kind's "consumers" say
    which methods add it, with what weight, squared or not."""

    def __init__(self, methods: Mapping[str, Method], num_images: int):
        self.names = list(methods)
        self.kinds, self.consumers = [], []  # consumers: (kind, method index, weight, squared)
        self.draws = []  # by kind: (stream, draw index) of a random kind, else None
        self.streams = {}  # stream name -> Stream
        self.gapped = {}  # name -> [(kind, share of its score gap)] of methods with one
        shared = {}
        for method_index, (name, terms) in enumerate(methods.items()):
            kinds = []
            for term in terms:
                kind = shared.get(term.path)
                if kind is None:
                    kind = len(self.kinds)
                    self.kinds.append(term)
                    self.draws.append(self._draw(term.stream or name, term) if term.is_random
                                      else None)
                    if not term.is_random:  # random terms draw afresh, so never share
                        shared[term.path] = kind
                self.consumers.append((kind, method_index, term.weight, term.squared))
                kinds.append(kind)
            if _has_score_gap(terms):
                self.gapped[name] = [(kind, _effective_weight(term))
                                     for kind, term in zip(kinds, terms)]
        self.num_kinds, self.num_images = len(self.kinds), num_images
        self._spread = np.array([t.noise_spread for t in self.kinds], np.float32)
        self._integrated = np.array([t.integrated for t in self.kinds])
        self._steps = np.array([t.steps for t in self.kinds], np.int64)
        self._times_input = np.array([t.times_input for t in self.kinds])
        self._scale = np.array([t.scale for t in self.kinds], np.float32)
        # Each kind's nodes α and weights, one after the other; weights times the steps, so that
        # they average 1 (linspace's are all 1: FastEstimator's plain sum of the gradients).
        rules = [nodes_and_weights(t.rule, t.steps) if t.integrated else ([1.0], [1.0])
                 for t in self.kinds]
        self._node_start = np.concatenate([[0], np.cumsum(self._steps)[:-1]]).astype(np.int64)
        self._alphas = np.concatenate([alphas for alphas, _ in rules]).astype(np.float32)
        self._weights = np.concatenate([np.asarray(weights) * term.steps for (_, weights), term
                                        in zip(rules, self.kinds)]).astype(np.float32)
        self._term_start = np.concatenate([[0], np.cumsum(np.tile(self._steps, num_images))])
        self.num_rows = int(self._term_start[-1])

    def _draw(self, stream, term):
        """The next draw of ``stream`` for a random ``term``: (stream, index)."""
        count, sampling = self.streams.get(stream, (0, term.sampling))
        if sampling != term.sampling:
            raise ValueError(f"the terms of stream {stream!r} mix sampling {sampling!r} and "
                             f"{term.sampling!r}; its draws are sampled together")
        self.streams[stream] = Stream(count + 1, sampling)
        return stream, count

    def chunks(self, chunk_size):
        """Equal-sized chunks of at most ``chunk_size`` rows; the last is padded to the same size
        so every call has one shape (the padding rows are summed into a discarded segment)."""
        size = math.ceil(self.num_rows / math.ceil(self.num_rows / chunk_size))
        for start in range(0, self.num_rows, size):
            yield self._chunk(np.arange(start, min(start + size, self.num_rows)), size)

    def _chunk(self, rows, size):
        term = np.searchsorted(self._term_start, rows, side="right") - 1
        first, last = term[0], term[-1]
        kind = term % self.num_kinds
        node = self._node_start[kind] + rows - self._term_start[term]
        padding = size - len(rows)
        tensors = {
            **self.term_tensors(np.arange(first, last + 1)),
            "row_term": np.pad(term - first, (0, padding), mode="edge").astype(np.int32),
            "row_alpha": np.pad(self._alphas[node], (0, padding), mode="edge"),
            "row_weight": np.pad(self._weights[node], (0, padding), mode="edge"),
            "valid_rows": np.int32(len(rows)),
        }
        continues = bool(self._term_start[last + 1] > rows[-1] + 1)
        return Chunk(int(first), continues, tensors)

    def term_tensors(self, terms):
        """What the engine needs to know of the (global) ``terms``: image, noise, path kind."""
        kinds = terms % self.num_kinds
        return {
            "term_image": (terms // self.num_kinds).astype(np.int32),
            "term_spread": self._spread[kinds],
            "term_integrated": self._integrated[kinds],
            "term_times_input": self._times_input[kinds],
            "term_scale": self._scale[kinds],
        }

    def term_draws(self, terms, draws, random_baselines):
        """(noise, uniforms), each (terms, *image shape) float32, of the (global) ``terms`` from
        ``draws`` (``draws.Draws``): zeros where a term has no noise or no random baseline
        (uniforms only with ``random_baselines``)."""
        noise = np.zeros((len(terms), *draws.shape), np.float32)
        uniforms = np.zeros_like(noise)
        for row, term in enumerate(terms):
            kind, image = term % self.num_kinds, term // self.num_kinds
            if self.draws[kind] is None:
                continue
            stream, index = self.draws[kind]
            count, sampling = self.streams[stream]
            if self._spread[kind] > 0:
                noise[row] = draws.normals(stream, image, count, sampling)[index]
            if random_baselines and self._integrated[kind]:
                uniforms[row] = draws.uniforms(stream, image, count, sampling)[index]
        return noise, uniforms

    def gap_terms(self):
        """The (global) terms of the ``gapped`` methods, image-major: their score gaps are what
        those methods' attributions should add up to."""
        kinds = sorted({kind for shares in self.gapped.values() for kind, _ in shares})
        images = np.arange(self.num_images)[:, None] * self.num_kinds
        return (images + np.array(kinds, np.int64)).ravel()

    def accumulate(self, results, maps, first_term):
        """Add finished term maps (terms ``first_term``, ``first_term`` + 1, …) into
        ``results`` (methods, images, H, W, C), each times its weight, squared where asked."""
        terms = first_term + np.arange(len(maps))
        kinds, images = terms % self.num_kinds, terms // self.num_kinds
        for kind, method, weight, squared in self.consumers:
            chosen = kinds == kind
            if chosen.any():
                values = maps[chosen]
                results[method, images[chosen]] += weight * (values * values if squared else values)

    def accumulate_gaps(self, gaps, terms, term_gaps):
        """Add the score gaps f(e) − f(b) of the (global) ``terms`` into ``gaps`` (name ->
        (images,)), each times its share in the ``gapped`` methods."""
        kinds, images = terms % self.num_kinds, terms // self.num_kinds
        for name, shares in self.gapped.items():
            for kind, share in shares:
                chosen = kinds == kind
                np.add.at(gaps[name], images[chosen], share * term_gaps[chosen])
