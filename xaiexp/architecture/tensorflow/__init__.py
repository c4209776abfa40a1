"""Keras model builders, one module each; a builder module declares its config schema as
``SCHEMAS`` and imports Keras only when it builds. A name (``LeNet``, ``ImagenetPreprocessing``)
is imported on first use from the module that defines it, found by reading the sources, so a new
builder is one new module here and nothing imports TensorFlow until a model is built."""

import importlib
import sys

from xaiexp.util.discovery import modules_defining


def __getattr__(name):
    found = modules_defining(sys.modules[__name__], name) if not name.startswith("_") else []
    if not found:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(found[0]), name)
