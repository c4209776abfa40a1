"""Which weights a test-time number comes from: a best-model saver that restores its best weights
when training ends (``load_best_final``) makes the test epoch score the model of an earlier epoch
than the last eval epoch."""

import os
from typing import NamedTuple

from xaiexp.trace.io.best_model_saver import BestModelSaver


class Weights(NamedTuple):
    """``kind``: "loaded" (epoch 0: nothing was trained in this run, as in ``xaiexp explain``),
    "epoch" (the model as it is after eval epoch ``epoch``), or at test "best" (the weights
    ``saver`` saved after eval epoch ``epoch`` and restored) or "final" (the last epoch's)."""

    kind: str
    epoch: int
    saver: BestModelSaver | None = None


def explained_weights(system, model) -> Weights:
    """The weights ``model`` has now, in ``system``'s mode (see ``Weights``): "best" when a
    BestModelSaver of ``model`` among ``system.traces`` restored the weights it saved."""
    if not system.epoch_idx:
        return Weights("loaded", 0)
    if system.mode != "test":
        return Weights("epoch", system.epoch_idx)
    for trace in system.traces:
        if (isinstance(trace, BestModelSaver) and trace.model is model and trace.load_best_final
                and trace.model_path and os.path.exists(trace.model_path)):
            return Weights("best", system.epoch_idx - trace.since_best, trace)
    return Weights("final", system.epoch_idx)
