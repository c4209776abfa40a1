"""The Op contract shared by NumPy ops (pipeline) and tensor ops (network)."""

from collections.abc import Iterable
from typing import Any

from xaiexp.util.util import parse_modes, to_list


class Op:
    """Reads ``inputs`` keys of the batch dict, writes ``outputs`` keys, in the given modes.

    ``forward(data, state)`` receives the input values (a single value when there is one input,
    else a list) and returns the output value(s) in the same convention.
    """

    def __init__(self, inputs: str | Iterable[str] | None = None, outputs: str | Iterable[str] | None = None,
                 mode: str | Iterable[str] | None = None) -> None:
        self.inputs = to_list(inputs)
        self.outputs = to_list(outputs)
        self.mode = parse_modes(mode)

    def forward(self, data: Any, state: dict[str, Any]) -> Any:
        raise NotImplementedError

    def apply(self, batch: dict[str, Any], state: dict[str, Any]) -> None:
        """Run ``forward`` on ``batch`` in place: gather inputs, scatter outputs."""
        values = [batch[key] for key in self.inputs]
        result = self.forward(values[0] if len(values) == 1 else values, state)
        if len(self.outputs) == 1:
            batch[self.outputs[0]] = result
        elif self.outputs:
            for key, value in zip(self.outputs, result):
                batch[key] = value
