"""Model architectures. The Keras models are imported on first use, so that
``xaiexp.architecture.pretrained`` (the weights checks a pre-flight runs) stays free of
TensorFlow."""

import importlib


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module("xaiexp.architecture.tensorflow"), name)
    raise AttributeError(f"module 'xaiexp.architecture' has no attribute {name!r}")


__all__ = ["CNN", "LeNet", "MobileNetV2", "ResNet50", "load_model"]
