from xaiexp.backend.squeeze import squeeze
from xaiexp.backend.to_number import to_number
from xaiexp.backend.to_tensor import to_tensor

__all__ = ["squeeze", "to_number", "to_tensor"]
