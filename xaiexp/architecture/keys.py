"""The config keys every model has, whatever builds it: xaiexp reads them itself (they are no
arguments of the builder). A built-in builder's schema extends ``ModelKeys``; a user's builder
gets them too. Read without TensorFlow."""

from dataclasses import dataclass
from typing import ClassVar


@dataclass
class ModelKeys:
    """Keys of every model config that xaiexp reads itself (not arguments of ``_target_``)."""
    OWN: ClassVar[tuple] = ("logits",)
    MIN_IMAGE_SIZE: ClassVar[int] = 1  # smallest image side the builder's layers take
    _target_: str = "???"
    # true: the model outputs logits (no final softmax); the loss takes them as logits, and what
    # is explained and scored as a probability is their softmax. Checked once before training.
    logits: bool = False
