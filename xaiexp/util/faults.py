"""Fault injection for the crash tests: ``XAIEXP_FAULT=<point>:<n>`` kills the process with
SIGKILL (no cleanup, like a power cut or the OOM killer) the n-th time it reaches ``<point>``.

Unset, ``fault_point`` returns at its first comparison.
"""

import os
import signal

_PLAN = os.environ.get("XAIEXP_FAULT", "")
_point, _, _count = _PLAN.rpartition(":")
_reached = {}


def fault_point(name: str) -> None:
    """A place where a kill must leave recoverable state; see the module docstring."""
    if name != _point:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == int(_count):
        os.kill(os.getpid(), signal.SIGKILL)
