from xaiexp.op.tensorop.tensorop import TensorOp

__all__ = ["TensorOp"]
