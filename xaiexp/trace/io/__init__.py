"""Traces that take results out of the loop: to files, notebooks and TensorBoard."""

from xaiexp.trace.io.best_model_saver import BestModelSaver
from xaiexp.trace.io.image_saver import ImageSaver
from xaiexp.trace.io.image_viewer import ImageViewer
from xaiexp.trace.io.tensorboard import TensorBoard

__all__ = ["BestModelSaver", "ImageSaver", "ImageViewer", "TensorBoard"]
