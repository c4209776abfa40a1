"""The two ways loading a dataset fails, each with one line that says how to fix it.

They subclass the built-in errors a caller would already catch (``FileNotFoundError``,
``ValueError``), so code written against plain file handling keeps working.
"""


class DatasetNotFoundError(FileNotFoundError):
    """The data is neither where it was asked for nor in the Keras cache, nor downloadable."""


class DatasetFormatError(ValueError):
    """A file exists but is not what the loader expects (wrong hash, keys, shapes or types)."""
