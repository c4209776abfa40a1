from xaiexp.trace.trace import Trace

__all__ = ["Trace"]
