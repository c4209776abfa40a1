"""What a loader's ``inspect`` tells before training, without loading (or importing TensorFlow)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """The class names (label 0, 1, ... in order) and one image's (H, W, C) shape."""
    class_names: tuple
    image_shape: tuple
