from xaiexp.architecture.tensorflow.lenet import LeNet

__all__ = ["LeNet"]
