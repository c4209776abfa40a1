"""A model saved in Keras' native format, as a model builder: ``model=saved model.path=...``."""

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xaiexp.architecture.keras_file import keras_file_problem
from xaiexp.architecture.keys import ModelKeys

if TYPE_CHECKING:
    import keras


@dataclass
class SavedModelConfig(ModelKeys):
    _target_: str = "xaiexp.architecture.tensorflow.load_model"
    path: str = "???"  # a .keras file


SCHEMAS = (SavedModelConfig,)


def load_model(path: str) -> "keras.Model":
    """The ``.keras`` model at ``path`` (``~`` expanded), loaded in safe mode (no arbitrary code,
    e.g. no Lambda layers), uncompiled: xaiexp attaches its own optimizer and loss. ValueError
    names a file that is missing, truncated or corrupt."""
    import keras

    # Registers xaiexp's own layers (e.g. ImagenetPreprocessing) so that safe mode can rebuild them.
    from xaiexp.architecture.tensorflow import preprocessing  # noqa: F401

    problem = keras_file_problem(path)
    if problem:
        raise ValueError(problem)
    return keras.models.load_model(os.path.expanduser(path), compile=False, safe_mode=True)
