"""Pipeline: datasets -> shuffled batches -> NumPy ops -> a prefetching tf.data stream."""

import itertools
import math

import numpy as np
import tensorflow as tf

from xaiexp.util.util import to_list


class Pipeline:
    """Batches each mode's dataset and applies ``ops`` (NumPy ops, vectorized over the batch).

    Training batches are reshuffled every epoch; with a ``seed`` the order is reproducible (and an epoch's order can be recomputed when a run resumes). ``num_process`` is
    accepted for FastEstimator compatibility: batched ops need no worker processes, and the
    batches are prepared on a background thread by tf.data's prefetch.
    """

    def __init__(self, train_data=None, eval_data=None, test_data=None, batch_size=None, ops=None,
                 num_process=None, seed=None):
        self.data = {mode: ds for mode, ds in
                     (("train", train_data), ("eval", eval_data), ("test", test_data)) if ds is not None}
        if not self.data:
            raise ValueError("Pipeline needs at least one of train_data, eval_data, test_data")
        self.batch_size = batch_size
        self.ops = to_list(ops)
        self.num_process = num_process
        self.seed = seed

    def steps_per_epoch(self, mode):
        return math.ceil(len(self.data[mode]) / self._batch_size())

    def _batch_size(self):
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"Pipeline batch_size must be a positive int, got {self.batch_size!r}")
        return self.batch_size

    def batches(self, mode, epoch=0, shuffle=None):
        """Yield one epoch of processed batches (dicts of NumPy arrays) for ``mode``."""
        arrays = self.data[mode].data
        count = len(self.data[mode])
        shuffle = mode == "train" if shuffle is None else shuffle
        rng = np.random.default_rng(None if self.seed is None else [self.seed, epoch])
        order = rng.permutation(count) if shuffle else None
        batch_size = self._batch_size()
        for start in range(0, count, batch_size):
            rows = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
            yield self.transform({key: value[rows] for key, value in arrays.items()}, mode)

    def transform(self, batch, mode):
        """Apply this mode's ops to a batch dict."""
        batch = dict(batch)
        for op in self.ops:
            if mode in op.mode:
                op.apply(batch, {"mode": mode})
        return batch

    def get_loader(self, mode, first_epoch=0, skip=0):
        """An endless tf.data stream of ``mode``'s batches, epoch after epoch, starting at epoch
        ``first_epoch`` (counted from 0) after its first ``skip`` batches.

        The Estimator keeps one iterator over it for the whole run: creating and deleting an
        iterator per epoch stalls for seconds here (DESIGN.md §4).
        """
        sample = next(self.batches(mode, shuffle=False))
        signature = {key: tf.TensorSpec((None, *value.shape[1:]), tf.as_dtype(value.dtype))
                     for key, value in sample.items()}

        def every_epoch():
            yield from itertools.islice(self.batches(mode, first_epoch), skip, None)
            for epoch in itertools.count(first_epoch + 1):
                yield from self.batches(mode, epoch)

        return tf.data.Dataset.from_generator(every_epoch, output_signature=signature).prefetch(2)

    def get_results(self, mode="train", num_steps=1, shuffle=False):
        """The first ``num_steps`` processed batches of ``mode`` (one dict when num_steps=1),
        to look at what the network will receive."""
        batches = list(itertools.islice(self.batches(mode, shuffle=shuffle), num_steps))
        return batches[0] if num_steps == 1 else batches
