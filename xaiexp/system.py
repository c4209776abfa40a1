"""Shared training state that every trace can read (``trace.system``)."""

from dataclasses import dataclass, field


@dataclass
class System:
    """Where the run is: mode, epoch, step. The Estimator owns it; traces read it.

    ``global_step`` counts training steps from 1 and is the MLflow ``step`` of every metric.
    ``epoch_idx`` counts from 1. A trace may set ``stop_training`` to end ``fit()`` after the
    current epoch. ``stop_reason`` says why a run ended early (an error, an interruption).
    """

    log_steps: int | None = 100
    total_epochs: int = 1
    mode: str = "train"
    global_step: int = 0
    epoch_idx: int = 0
    batch_idx: int = 0
    steps_per_epoch: int | None = None
    stop_training: bool = False
    stop_reason: str | None = None
    stop_requested: str | None = None  # a signal's name: stop at the next step boundary
    network: object = None
    traces: list = field(default_factory=list)

    def should_log(self) -> bool:
        """True on training steps whose metrics are logged: step 1 and every ``log_steps``."""
        if self.mode != "train" or not self.log_steps:
            return False
        return self.global_step == 1 or self.global_step % self.log_steps == 0
