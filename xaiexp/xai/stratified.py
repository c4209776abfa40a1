"""A scoring set: a fixed, class-stratified sample of a stream of batches, so that the metrics of
two runs of one seed are computed on the same images and can be compared image by image."""

import numpy as np


class StratifiedSample:
    """The first ``size`` samples of a stream with as equal a count per class as the stream
    allows, in arrival order: each class keeps its first ``size`` samples (memory stays at most
    ``size`` per class), and ``result`` deals them round-robin over the classes, by class index,
    until ``size`` are taken. The eval and test streams come in a fixed order per seed, so the
    sample is the same in every run of a seed. Without labels (``add(batch, None)``), the first
    ``size`` samples."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self._parts = []  # {key: array} of kept samples, in arrival order
        self._classes = []  # (n,) class of each kept sample, or None
        self._count = {}  # class -> samples kept

    def add(self, batch, classes=None):
        """Keep what is still wanted of ``batch`` ({key: (n, ...)}); ``classes``: (n,) ints."""
        n = len(next(iter(batch.values())))
        if classes is None:
            kept = np.arange(n)[:self.size - sum(len(c) for c in self._classes)]
            classes = np.full(n, -1)
        else:
            kept = []
            for index, label in enumerate(np.asarray(classes).tolist()):
                if self._count.get(label, 0) < self.size:
                    self._count[label] = self._count.get(label, 0) + 1
                    kept.append(index)
        if len(kept):
            self._parts.append({key: np.asarray(values)[kept] for key, values in batch.items()})
            self._classes.append(np.asarray(classes)[kept])

    def result(self):
        """{key: (size or fewer, ...)} in arrival order."""
        classes = np.concatenate(self._classes)
        rank = np.zeros(len(classes), int)  # position of each sample within its class
        for label in np.unique(classes):
            rank[classes == label] = np.arange((classes == label).sum())
        order = np.lexsort((classes, rank))[:self.size]  # round-robin: rank, then class
        chosen = np.sort(order)
        return {key: np.concatenate([part[key] for part in self._parts])[chosen]
                for key in self._parts[0]}
