"""Traces every Estimator adds: loss and speed in training, averaged loss in eval/test."""

import time

import numpy as np

from xaiexp.trace.trace import Trace


class TrainEssential(Trace):
    """Log the training losses and steps/sec every ``log_steps``, and the epoch's duration."""

    def __init__(self, loss_keys):
        super().__init__(inputs=loss_keys, outputs=[*loss_keys, "steps/sec", "epoch_time"], mode="train")
        self.epoch_start = self.log_start = 0.0
        self.log_start_step = 0

    def needs_batch(self):
        return self.system.should_log()

    def on_epoch_begin(self, data):
        self.epoch_start = self.log_start = time.perf_counter()
        self.log_start_step = self.system.global_step

    def on_batch_end(self, data):
        if not self.system.should_log():
            return
        for key in self.inputs:
            data.write_with_log(key, np.float32(data[key]))
        now = time.perf_counter()
        steps = self.system.global_step - self.log_start_step
        if self.system.global_step > 1 and steps > 0:
            data.write_with_log("steps/sec", round(steps / (now - self.log_start), 2))
        self.log_start, self.log_start_step = now, self.system.global_step

    def on_epoch_end(self, data):
        data.write_with_log("epoch_time", round(time.perf_counter() - self.epoch_start, 2))


class EvalEssential(Trace):
    """Average the losses over an eval/test epoch, weighting each batch by its size."""

    def __init__(self, loss_keys):
        super().__init__(inputs=loss_keys, outputs=loss_keys, mode=("eval", "test"))
        self.sums = {}
        self.count = 0

    def on_epoch_begin(self, data):
        self.sums = dict.fromkeys(self.inputs, 0.0)
        self.count = 0

    def on_batch_end(self, data):
        present = [key for key in self.inputs if key in data]
        if not present:
            return
        size = len(next(v for v in data.values() if np.ndim(v) > 0))
        for key in present:
            self.sums[key] += float(data[key]) * size
        self.count += size

    def on_epoch_end(self, data):
        if self.count:
            for key, total in self.sums.items():
                data.write_with_log(key, np.float32(total / self.count))
