"""The config keys every dataset has, whatever loads it: xaiexp reads them itself (they are no
arguments of the loader). A built-in loader's schema extends ``DatasetKeys``; a user's loader
gets them too. Read without TensorFlow."""

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from xaiexp.util.bounds import bounded
from xaiexp.util.normalization import IMAGENET_MEAN, IMAGENET_STD, MAX_PIXEL_VALUE


@dataclass
class NormalizeConfig:
    """``Normalize`` op: (x - mean * max_pixel_value) / (std * max_pixel_value)."""
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    max_pixel_value: float = bounded(MAX_PIXEL_VALUE, above=0)


@dataclass
class DatasetKeys:
    """Keys of every dataset config that xaiexp reads itself (not arguments of ``_target_``)."""
    OWN: ClassVar[tuple] = ("test_split", "class_names", "normalize")
    _target_: str = "???"
    test_split: float = bounded(0.5, above=0, below=1)  # share of eval held out as test
    # Names of labels 0, 1, ...: replace the dataset's own (in plots and logs); as many distinct,
    # non-empty names as the dataset has classes, checked before training starts.
    class_names: Optional[list[str]] = None
    # null: no Normalize op (models that normalize themselves, e.g. model=mobilenet_v2)
    normalize: Optional[NormalizeConfig] = field(default_factory=NormalizeConfig)
