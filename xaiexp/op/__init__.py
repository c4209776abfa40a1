from xaiexp.op.op import Op

__all__ = ["Op"]
