from xaiexp.dataset.numpy_dataset import NumpyDataset

__all__ = ["NumpyDataset"]
