"""Probes and scoring sets: a fixed, class-stratified, seeded sample of a stream of batches, so
that the figures show every class and the metrics of two runs of one seed are computed on the
same images, which can then be compared image by image.

Image folders and many arrays arrive sorted by class: the first images of a stream are often
all of one class (every probe of a sorted folder used to show its alphabetically first class).
"""

import hashlib
import heapq

import numpy as np

from xaiexp.xai.image_scores import image_ids


def priorities(ids, seed: int) -> np.ndarray:
    """(n,) uint64 draw of each image id under ``seed``: a hash, so an image's draw depends on
    its pixels and the seed alone, not on where it sits in the stream or what else is there."""
    return np.array([int.from_bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[:8], "big")
                     for i in ids], np.uint64)


class StratifiedSample:
    """``size`` samples of a stream, as equal a count per class as the stream allows, drawn at
    random with ``seed`` within each class.

    Each image gets a seeded random draw (``priorities`` of its pixels' digest); each class
    keeps its ``size`` lowest draws (memory stays at most ``size`` samples per class), and
    ``result`` deals them round-robin over the classes, by class index, lowest draw first,
    until ``size`` are taken: the first k samples span min(k, classes) classes. The same
    images (the same pixels after the pipeline) give the same sample in every run of a seed,
    whatever their order, and a smaller sample of a seed is part of a larger one (the figures'
    probes are among the scored images). Without labels (``add(batch, None)``) the stream is
    one class.
    """

    def __init__(self, size: int, seed: int = 0, image_key: str = "x"):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size, self.seed, self.image_key = size, seed, image_key
        self._kept = {}  # class -> heap of (-draw, arrival, {key: one sample})
        self._arrivals = 0

    def add(self, batch, classes=None):
        """Keep what is still wanted of ``batch`` ({key: (n, ...)}); ``classes``: (n,) ints."""
        images = np.asarray(batch[self.image_key])
        classes = np.full(len(images), -1) if classes is None else np.asarray(classes)
        draws = priorities(image_ids(images), self.seed)
        for index, (label, draw) in enumerate(zip(classes.tolist(), draws.tolist())):
            heap = self._kept.setdefault(label, [])
            item = (-draw, self._arrivals + index)
            if len(heap) < self.size:
                heapq.heappush(heap, (*item, _sample(batch, index)))
            elif item > heap[0][:2]:
                heapq.heapreplace(heap, (*item, _sample(batch, index)))
        self._arrivals += len(images)

    def result(self):
        """{key: (size or fewer, ...)}, dealt round-robin over the classes."""
        ranked = []  # (rank within class, class, sample)
        for label, heap in self._kept.items():
            ordered = sorted(heap, key=lambda item: (-item[0], item[1]))
            ranked += [(rank, label, item[2]) for rank, item in enumerate(ordered)]
        chosen = [sample for _, _, sample in sorted(ranked, key=lambda r: r[:2])[:self.size]]
        return {key: np.stack([sample[key] for sample in chosen]) for key in chosen[0]}


def _sample(batch, index):
    return {key: np.asarray(values)[index] for key, values in batch.items()}
