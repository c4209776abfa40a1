"""Tensor ops run inside the Network's compiled step."""

from xaiexp.op.op import Op


class TensorOp(Op):
    """An op over TensorFlow tensors; ``forward`` is traced into the step's graph."""
