"""Utilities; ``ImgData`` (matplotlib) is imported on first use."""

import importlib

from xaiexp.util.data import Data
from xaiexp.util.util import parse_modes, to_list, to_set


def __getattr__(name):
    if name == "ImgData":
        return importlib.import_module("xaiexp.util.img_data").ImgData
    raise AttributeError(f"module 'xaiexp.util' has no attribute {name!r}")


__all__ = ["Data", "ImgData", "parse_modes", "to_list", "to_set"]
