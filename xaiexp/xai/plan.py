"""Every gradient pass a batch needs for the requested methods, cut into chunks of rows.

Terms (method.py) with equal noise-free paths are shared between methods, so the clean gradient
that vanilla, SmoothGrad and SmInt all start from is computed once. Terms are numbered image-major
and their rows (one per gradient point) are contiguous, so a chunk holds a run of terms of which
only the first and last may be partial; chunk rows are generated on demand, keeping memory at
O(terms + chunk_size) however many passes the methods ask for.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from xaiexp.xai.method import Method


@dataclass
class Chunk:
    """One compiled call's rows: a run of terms starting at global term ``first_term``.

    ``tensors`` feed the engine's compiled call; ``last_term_continues`` says the last term's
    remaining rows are in the next chunk, so its partial sum must be carried over.
    """

    first_term: int
    last_term_continues: bool
    tensors: dict


def _has_score_gap(terms):
    """One unsquared integrated path whose rows include both ends: its attributions should add up
    to f(e) − f(b), the score gap its rows give. A one-step path visits only b, so has none."""
    return len(terms) == 1 and terms[0].integrated and terms[0].steps > 1 and not terms[0].squared


class PassPlan:
    """The passes of ``methods`` for ``num_images`` images. Each distinct term of the methods is
    a "kind"; term t is kind t % kinds of image t // kinds, and each kind's "consumers" say
    which methods add it, with what weight, squared or not."""

    def __init__(self, methods: Mapping[str, Method], num_images: int):
        self.names = list(methods)
        self.kinds, self.consumers = [], []  # consumers: (kind, method index, weight, squared)
        self.gapped = {}  # name -> kind of the methods whose score gap is their one term's
        shared = {}
        for method_index, (name, terms) in enumerate(methods.items()):
            for term in terms:
                kind = shared.get(term.path)
                if kind is None:
                    kind = len(self.kinds)
                    self.kinds.append(term)
                    if not term.is_random:  # random terms draw afresh, so never share
                        shared[term.path] = kind
                self.consumers.append((kind, method_index, term.weight, term.squared))
            if _has_score_gap(terms):
                self.gapped[name] = kind
        self.num_kinds = len(self.kinds)
        self._spread = np.array([t.noise_spread for t in self.kinds], np.float32)
        self._integrated = np.array([t.integrated for t in self.kinds])
        self._steps = np.array([t.steps for t in self.kinds], np.int64)
        self._times_input = np.array([t.times_input for t in self.kinds])
        self._scale = np.array([t.scale for t in self.kinds], np.float32)
        self._term_start = np.concatenate([[0], np.cumsum(np.tile(self._steps, num_images))])
        self.num_rows = int(self._term_start[-1])

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
        step = rows - self._term_start[term]
        # alpha = linspace(0, 1, steps)[step] on integrated paths; plain terms sit at the endpoint.
        alpha = np.where(self._integrated[kind], step / np.maximum(self._steps[kind] - 1, 1), 1.0)
        # The score gap f(e) − f(b): + the target score at α = 1, − at α = 0 (both exist from 2
        # steps on; a one-step path's only row, at b, must not count as −f(b) alone).
        spans = self._integrated[kind] & (self._steps[kind] > 1)
        gap_sign = spans * ((alpha == 1).astype(np.float32) - (alpha == 0))
        terms = np.arange(first, last + 1)
        terms_kind = terms % self.num_kinds
        padding = size - len(rows)
        tensors = {
            "term_image": (terms // self.num_kinds).astype(np.int32),
            "term_spread": self._spread[terms_kind],
            "term_integrated": self._integrated[terms_kind],
            "term_times_input": self._times_input[terms_kind],
            "term_scale": self._scale[terms_kind],
            "row_term": np.pad(term - first, (0, padding), mode="edge").astype(np.int32),
            "row_alpha": np.pad(alpha, (0, padding), mode="edge").astype(np.float32),
            "row_gap_sign": np.pad(gap_sign, (0, padding), mode="edge").astype(np.float32),
            "valid_rows": np.int32(len(rows)),
        }
        continues = bool(self._term_start[last + 1] > rows[-1] + 1)
        return Chunk(int(first), continues, tensors)

    def accumulate(self, results, gaps, maps, term_gaps, first_term):
        """Add finished term maps (terms ``first_term``, ``first_term`` + 1, …) into
        ``results`` (methods, images, H, W, C), each times its weight, squared where asked, and
        their score gaps into ``gaps`` (name -> (images,)) of the ``gapped`` methods."""
        terms = first_term + np.arange(len(maps))
        kinds, images = terms % self.num_kinds, terms // self.num_kinds
        for kind, method, weight, squared in self.consumers:
            chosen = kinds == kind
            if chosen.any():
                values = maps[chosen]
                results[method, images[chosen]] += weight * (values * values if squared else values)
        for name, kind in self.gapped.items():
            chosen = kinds == kind
            gaps[name][images[chosen]] += term_gaps[chosen]
