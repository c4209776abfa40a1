from xaiexp.architecture.tensorflow.cnn import CNN
from xaiexp.architecture.tensorflow.lenet import LeNet

__all__ = ["CNN", "LeNet"]
