from xaiexp.op.numpyop.numpyop import NumpyOp

__all__ = ["NumpyOp"]
