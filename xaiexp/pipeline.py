"""Pipeline: datasets -> shuffled batches -> ops -> a prefetching tf.data stream.

An in-memory dataset (NumpyDataset) is batched in NumPy; a streamed one (FileDataset) is read,
decoded, batched and transformed inside tf.data's graph, so no Python runs per sample or batch.
"""

import itertools
import math

import numpy as np
import tensorflow as tf

from xaiexp.dataset.numpy_dataset import NumpyDataset
from xaiexp.util.util import to_list


class Pipeline:
    """Batches each mode's dataset and applies ``ops`` (NumPy ops, vectorized over the batch).

    Datasets are NumpyDatasets (in memory) or FileDatasets (streamed from files; there the ops
    receive tf tensors inside tf.data's graph, see NumpyOp). Training batches are reshuffled
    every epoch; with a ``seed`` the order is reproducible, the same for both kinds (and an
    epoch's order can be recomputed when a run resumes). ``num_process`` is accepted for
    FastEstimator compatibility: batched ops need no worker processes, files are decoded by
    tf.data's parallel map, and batches are prepared ahead by tf.data's prefetch.
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

    def _order(self, mode, epoch, shuffle=None):
        """The epoch's row order: a permutation drawn from [seed, epoch] for training, else None
        (the stored order)."""
        shuffle = mode == "train" if shuffle is None else shuffle
        rng = np.random.default_rng(None if self.seed is None else [self.seed, epoch])
        return rng.permutation(len(self.data[mode])) if shuffle else None

    def _rows(self, mode, epoch, shuffle=None):
        """``_order`` as row indices, as a streamed dataset takes it."""
        order = self._order(mode, epoch, shuffle)
        return np.arange(len(self.data[mode])) if order is None else order

    def batches(self, mode, epoch=0, shuffle=None):
        """Yield one epoch of processed batches (dicts of NumPy arrays) for ``mode``."""
        if not isinstance(self.data[mode], NumpyDataset):
            order = self._rows(mode, epoch, shuffle)
            yield from self._stream(mode, lambda: [order]).as_numpy_iterator()
            return
        order = self._order(mode, epoch, shuffle)
        arrays = self.data[mode].data
        count = len(self.data[mode])
        batch_size = self._batch_size()
        for start in range(0, count, batch_size):
            rows = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
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
        iterator per epoch stalls for seconds (measured with TF 2.21 on 2 cores).
        """
        if not isinstance(self.data[mode], NumpyDataset):
            return self._stream(mode, lambda: self._orders(mode, first_epoch, skip))
        sample = next(self.batches(mode, shuffle=False))
        signature = {key: tf.TensorSpec((None, *value.shape[1:]), tf.as_dtype(value.dtype))
                     for key, value in sample.items()}

        def every_epoch():
            yield from itertools.islice(self.batches(mode, first_epoch), skip, None)
            for epoch in itertools.count(first_epoch + 1):
                yield from self.batches(mode, epoch)

        return tf.data.Dataset.from_generator(every_epoch, output_signature=signature).prefetch(2)

    def _orders(self, mode, first_epoch, skip):
        """Each epoch's row order from ``first_epoch`` on, the first without its ``skip`` batches."""
        yield self._rows(mode, first_epoch)[skip * self._batch_size():]
        for epoch in itertools.count(first_epoch + 1):
            yield self._rows(mode, epoch)

    def _stream(self, mode, orders):
        """A streamed dataset's batches as tf.data: for each row order ``orders()`` yields (one
        per epoch), the files decoded in parallel, batched within the epoch, transformed by the
        ops in the graph, prefetched."""
        dataset, batch_size = self.data[mode], self._batch_size()

        def epoch(rows):
            return (tf.data.Dataset.from_tensor_slices(rows)
                    .map(dataset.decode, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size))

        rows = tf.data.Dataset.from_generator(lambda: map(dataset.rows, orders()),
                                              output_signature=dataset.row_signature())
        return (rows.flat_map(epoch)
                .map(lambda batch: self.transform(batch, mode), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))

    def get_results(self, mode="train", num_steps=1, shuffle=False):
        """The first ``num_steps`` processed batches of ``mode`` (one dict when num_steps=1),
        to look at what the network will receive. A streamed dataset's rows are decoded eagerly:
        a tf.data stream built for one look took 30x as long (``benchmarks/first_batch.py``)."""
        if isinstance(self.data[mode], NumpyDataset):
            batches = list(itertools.islice(self.batches(mode, shuffle=shuffle), num_steps))
        else:
            size = self._batch_size()
            rows = self._rows(mode, 0, shuffle)[:num_steps * size]
            batches = [self.transform(self._decoded(mode, rows[start:start + size]), mode)
                       for start in range(0, len(rows), size)]
        return batches[0] if num_steps == 1 else batches

    def _decoded(self, mode, rows):
        """The streamed dataset's ``rows``, decoded one by one in eager mode and stacked."""
        dataset = self.data[mode]
        columns = dataset.rows(rows)
        samples = [dataset.decode({key: tf.constant(value[i]) for key, value in columns.items()})
                   for i in range(len(rows))]
        return {key: np.stack([sample[key].numpy() for sample in samples]) for key in samples[0]}
