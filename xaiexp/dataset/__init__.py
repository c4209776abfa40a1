from xaiexp.dataset.file_dataset import FileDataset
from xaiexp.dataset.numpy_dataset import NumpyDataset

__all__ = ["FileDataset", "NumpyDataset"]
