"""The Op contract shared by NumPy ops (pipeline) and tensor ops (network)."""

from xaiexp.util.util import parse_modes, to_list


class Op:
    """Reads ``inputs`` keys of the batch dict, writes ``outputs`` keys, in the given modes.

    ``forward(data, state)`` receives the input values (a single value when there is one input,
    else a list) and returns the output value(s) in the same convention.
    """

    def __init__(self, inputs=None, outputs=None, mode=None):
        self.inputs = to_list(inputs)
        self.outputs = to_list(outputs)
        self.mode = parse_modes(mode)

    def forward(self, data, state):
        raise NotImplementedError

    def apply(self, batch, state):
        """Run ``forward`` on ``batch`` in place: gather inputs, scatter outputs."""
        values = [batch[key] for key in self.inputs]
        result = self.forward(values[0] if len(values) == 1 else values, state)
        if len(self.outputs) == 1:
            batch[self.outputs[0]] = result
        elif self.outputs:
            for key, value in zip(self.outputs, result):
                batch[key] = value
