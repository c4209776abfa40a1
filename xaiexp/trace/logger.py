"""The console log: one line per logged step and per epoch, in FastEstimator's shape."""

import sys
import time

import numpy as np

from xaiexp.trace.trace import Trace

PREFIX = "xaiexp"
_TIMINGS = ("steps/sec", "epoch_time", "total_time")  # shown last, in this order


def format_value(value):
    if isinstance(value, (float, np.floating)):
        return str(np.float32(value))
    return str(value)


def format_line(mode, fields):
    """``xaiexp-Train: step: 1; ce: 2.3; steps/sec: 40.1;`` with timings last, times in sec."""
    ordered = [(k, v) for k, v in fields.items() if k not in _TIMINGS]
    ordered += [(k, fields[k]) for k in _TIMINGS if k in fields]
    parts = [f"{key}: {format_value(value)}{' sec' if key.endswith('_time') else ''};"
             for key, value in ordered]
    return f"{PREFIX}-{mode.capitalize()}: " + " ".join(parts)


class Logger(Trace):
    """Prints what the other traces logged; a progress bar on training epochs when stdout is a
    terminal. The Estimator adds it last, so it sees every value."""

    records_logs = True

    def __init__(self, stream=None):
        super().__init__(mode=None)
        self.stream = stream or sys.stdout
        self.progress = self.stream.isatty()
        self.start = 0.0
        self._last_draw = 0.0

    def needs_batch(self):
        return False

    def on_begin(self, data):
        self.start = time.perf_counter()
        if self.system.mode == "train":
            self._print(format_line("start", {"step": self.system.global_step + 1,
                                             "logging_interval": self.system.log_steps}))

    def on_batch_end(self, data):
        logs = data.read_logs()
        if logs and self.system.should_log():
            self._print(format_line("train", {"step": self.system.global_step, **logs}))
        elif self.progress and self.system.mode == "train":
            self._draw_progress()

    def on_epoch_end(self, data):
        fields = {"step": self.system.global_step, "epoch": self.system.epoch_idx, **data.read_logs()}
        self._print(format_line(self.system.mode, fields))

    def on_end(self, data):
        if self.system.stop_reason:
            self._print(format_line("stopped", {"step": self.system.global_step,
                                               "reason": self.system.stop_reason}))
        elif self.system.mode == "train":
            fields = {"step": self.system.global_step, **data.read_logs(),
                      "total_time": round(time.perf_counter() - self.start, 2)}
            self._print(format_line("finish", fields))

    def _draw_progress(self):
        now = time.perf_counter()
        if now - self._last_draw < 0.1:
            return
        self._last_draw = now
        done, total = self.system.batch_idx, self.system.steps_per_epoch or 1
        bar = "#" * int(30 * done / total)
        self.stream.write(f"\r  epoch {self.system.epoch_idx} [{bar:<30}] {done}/{total}")
        self.stream.flush()

    def _print(self, line):
        if self.progress:
            self.stream.write("\r\033[K")
        print(line, file=self.stream, flush=True)
