from xaiexp.architecture.tensorflow.applications import MobileNetV2, ResNet50
from xaiexp.architecture.tensorflow.cnn import CNN
from xaiexp.architecture.tensorflow.lenet import LeNet
from xaiexp.architecture.tensorflow.preprocessing import ImagenetPreprocessing
from xaiexp.architecture.tensorflow.saved import load_model

__all__ = ["CNN", "ImagenetPreprocessing", "LeNet", "MobileNetV2", "ResNet50", "load_model"]
