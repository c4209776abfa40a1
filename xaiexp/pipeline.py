"""Pipeline: datasets -> shuffled batches -> ops -> a prefetching tf.data stream.

An in-memory dataset (NumpyDataset) is batched in NumPy; a streamed one (FileDataset) is read,
decoded, batched and transformed inside tf.data's graph, so no Python runs per sample or batch.
"""

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np
import tensorflow as tf

from xaiexp.dataset.file_dataset import FileDataset
from xaiexp.dataset.numpy_dataset import NumpyDataset
from xaiexp.op.numpyop.numpyop import NumpyOp
from xaiexp.util.util import to_list

Dataset = NumpyDataset | FileDataset
Batch = dict[str, Any]  # key -> a batch of values (NumPy arrays, or tf tensors in tf.data's graph)


class Pipeline:
    """Batches each mode's dataset and applies ``ops`` (NumPy ops, vectorized over the batch).

    Datasets are NumpyDatasets (in memory) or FileDatasets (streamed from files; there the ops
    receive tf tensors inside tf.data's graph, see NumpyOp). Training batches are reshuffled
    every epoch; with a ``seed`` the order is reproducible, the same for both kinds (and an
    epoch's order can be recomputed when a run resumes). ``num_process`` is accepted for
    FastEstimator compatibility: batched ops need no worker processes, files are decoded by
    tf.data's parallel map, and batches are prepared ahead by tf.data's prefetch.
    """

    def __init__(self, train_data: Dataset | None = None, eval_data: Dataset | None = None,
                 test_data: Dataset | None = None, batch_size: int | None = None,
                 ops: NumpyOp | Sequence[NumpyOp] | None = None, num_process: int | None = None,
                 seed: int | None = None) -> None:
        self.data = {mode: ds for mode, ds in
                     (("train", train_data), ("eval", eval_data), ("test", test_data)) if ds is not None}
        if not self.data:
            raise ValueError("Pipeline needs at least one of train_data, eval_data, test_data")
        self.batch_size = batch_size
        self.ops = to_list(ops)
        self.num_process = num_process
        self.seed = seed

    def steps_per_epoch(self, mode: str) -> int:
        return math.ceil(len(self.data[mode]) / self._batch_size())

    def _batch_size(self) -> int:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"Pipeline batch_size must be a positive int, got {self.batch_size!r}")
        return self.batch_size

    def _order(self, mode: str, epoch: int, shuffle: bool | None = None) -> np.ndarray | None:
        """The epoch's row order: a permutation drawn from [seed, epoch] for training, else None
        (the stored order)."""
        shuffle = mode == "train" if shuffle is None else shuffle
        rng = np.random.default_rng(None if self.seed is None else [self.seed, epoch])
        return rng.permutation(len(self.data[mode])) if shuffle else None

    def _rows(self, mode: str, epoch: int, shuffle: bool | None = None) -> np.ndarray:
        """``_order`` as row indices, as a streamed dataset takes it."""
        order = self._order(mode, epoch, shuffle)
        return np.arange(len(self.data[mode])) if order is None else order

    def batches(self, mode: str, epoch: int = 0, shuffle: bool | None = None) -> Iterator[Batch]:
        """Yield one epoch of processed batches (dicts of NumPy arrays) for ``mode``."""
        dataset = self.data[mode]
        if not isinstance(dataset, NumpyDataset):
            rows = self._rows(mode, epoch, shuffle)
            yield from self._stream(mode, lambda: [rows]).as_numpy_iterator()
            return
        order = self._order(mode, epoch, shuffle)
        batch_size = self._batch_size()
        for start in range(0, len(dataset), batch_size):
            chosen = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
            yield self.transform({key: value[chosen] for key, value in dataset.data.items()}, mode)

    def transform(self, batch: Batch, mode: str) -> Batch:
        """Apply this mode's ops to a batch dict."""
        batch = dict(batch)
        for op in self.ops:
            if mode in op.mode:
                op.apply(batch, {"mode": mode})
        return batch

    def get_loader(self, mode: str, first_epoch: int = 0, skip: int = 0) -> tf.data.Dataset:
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

        def every_epoch() -> Iterator[Batch]:
            yield from itertools.islice(self.batches(mode, first_epoch), skip, None)
            for epoch in itertools.count(first_epoch + 1):
                yield from self.batches(mode, epoch)

        return tf.data.Dataset.from_generator(every_epoch, output_signature=signature).prefetch(2)

    def _orders(self, mode: str, first_epoch: int, skip: int) -> Iterator[np.ndarray]:
        """Each epoch's row order from ``first_epoch`` on, the first without its ``skip`` batches."""
        yield self._rows(mode, first_epoch)[skip * self._batch_size():]
        for epoch in itertools.count(first_epoch + 1):
            yield self._rows(mode, epoch)

    def _stream(self, mode: str, orders: Callable[[], Iterable[np.ndarray]]) -> tf.data.Dataset:
        """A streamed dataset's batches as tf.data: for each row order ``orders()`` yields (one
        per epoch), the files decoded in parallel, batched within the epoch, transformed by the
        ops in the graph, prefetched."""
        dataset, batch_size = self._streamed(mode), self._batch_size()

        def epoch(rows: tf.Tensor) -> tf.data.Dataset:
            return (tf.data.Dataset.from_tensor_slices(rows)
                    .map(dataset.decode, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size))

        rows = tf.data.Dataset.from_generator(lambda: map(dataset.rows, orders()),
                                              output_signature=dataset.row_signature())
        return (rows.flat_map(epoch)
                .map(lambda batch: self.transform(batch, mode), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))

    def get_results(self, mode: str = "train", num_steps: int = 1,
                    shuffle: bool = False) -> Batch | list[Batch]:
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

    def _decoded(self, mode: str, rows: np.ndarray) -> Batch:
        """The streamed dataset's ``rows``, decoded one by one in eager mode and stacked."""
        dataset = self._streamed(mode)
        columns = dataset.rows(rows)
        samples = [dataset.decode({key: tf.constant(value[i]) for key, value in columns.items()})
                   for i in range(len(rows))]
        return {key: np.stack([sample[key].numpy() for sample in samples]) for key in samples[0]}

    def _streamed(self, mode: str) -> FileDataset:
        """``mode``'s dataset, which the caller knows is streamed (not a NumpyDataset)."""
        return cast(FileDataset, self.data[mode])
