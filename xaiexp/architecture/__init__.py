"""Model architectures. The Keras models of ``xaiexp.architecture.tensorflow`` are also found here
(``xaiexp.architecture.LeNet``), imported on first use, so that ``xaiexp.architecture.pretrained``
(the weights checks a pre-flight runs) stays free of TensorFlow."""

import importlib


def __getattr__(name):
    return getattr(importlib.import_module("xaiexp.architecture.tensorflow"), name)
