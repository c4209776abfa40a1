"""The Trace contract: small objects hooked into the Estimator's loop (cf. Keras callbacks)."""

from collections.abc import Iterable
from typing import Any

from xaiexp.util.util import parse_modes, to_list


class Trace:
    """Base class. Override any hook; each receives a ``Data`` dict.

    ``inputs`` names the keys a trace reads and ``outputs`` those it writes, so the Estimator
    can order traces (a producer runs before its consumers) and only move the batch keys that
    some trace needs from TensorFlow to NumPy. ``self.system`` is set by the Estimator.
    """

    system: Any = None  # the Estimator's System (xaiexp/system.py), set before the first hook
    # A recorder of what the other traces log (console, MLflow, TensorBoard): the Estimator
    # runs it after every trace that is not one, whatever their order in the list.
    records_logs = False
    # Keys this trace logs that the console's line per epoch leaves out (bookkeeping); the run's
    # log file and MLflow keep them.
    quiet_keys = ()

    def __init__(self, inputs: str | Iterable[str] | None = None, outputs: str | Iterable[str] | None = None,
                 mode: str | Iterable[str] | None = None) -> None:
        self.inputs = to_list(inputs)
        self.outputs = to_list(outputs)
        self.mode = parse_modes(mode)

    def needs_batch(self) -> bool:
        """Whether ``on_batch_end`` wants this step's batch values (default: if it reads any)."""
        return bool(self.inputs)

    def on_begin(self, data: Any) -> None:
        """Once before the first epoch of fit() / the test epoch of test()."""

    def on_epoch_begin(self, data: Any) -> None:
        """At the start of each epoch, in every mode this trace runs in."""

    def on_batch_begin(self, data: Any) -> None:
        """Before each step."""

    def on_batch_end(self, data: Any) -> None:
        """After each step; ``data`` holds the batch and the network's outputs."""

    def on_epoch_end(self, data: Any) -> None:
        """At the end of each epoch; write epoch-level results here."""

    def on_end(self, data: Any) -> None:
        """Once after fit() / test() ends, also when it ends with an error."""

    def state_dict(self) -> Any:
        """What a checkpoint must keep for this trace to resume exactly (JSON-able), or None."""
        return None

    def load_state_dict(self, state: Any) -> None:
        """Restore what ``state_dict`` returned."""
