"""NumPy ops run in the Pipeline on whole batches, before data reaches TensorFlow."""

from xaiexp.op.op import Op


class NumpyOp(Op):
    """An op over NumPy arrays whose leading axis is the batch. Vectorize ``forward``."""
