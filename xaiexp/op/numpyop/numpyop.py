"""NumPy ops run in the Pipeline on whole batches, before data reaches TensorFlow."""

from xaiexp.op.op import Op


class NumpyOp(Op):
    """An op over NumPy arrays whose leading axis is the batch. Vectorize ``forward``.

    For a streamed dataset (FileDataset) the Pipeline runs the ops inside tf.data's graph, with
    no Python round trip per batch: there ``forward`` receives tf tensors and is traced once.
    An op meant for both writes ``forward`` with operations NumPy arrays and tensors share
    (arithmetic, slicing), casting with ``tf.cast`` when ``tf.is_tensor(data)``, as Normalize does.
    """
