"""The console log: FastEstimator's ``xaiexp-<Mode>: key: value;`` lines, short enough to read at
100 columns, with a tqdm progress bar (rate, ETA) when the console is a terminal."""

import sys
import time

import numpy as np
from tqdm import tqdm

from xaiexp.trace.trace import Trace
from xaiexp.util.console import detail
from xaiexp.util.util import safe_name
from xaiexp.xai.floors import RANDOM, UNIFORM
from xaiexp.xai.registry import EXPLANATION, explained_method, explanation_parts
from xaiexp.xai import statistics
from xaiexp.xai.statistics import COMPANIONS

PREFIX = "xaiexp"
FLOOR_KEYS = tuple(safe_name(column).lower() for column in (UNIFORM, RANDOM))  # xai/<floor>/...
_TIMINGS = ("steps/sec", "epoch_time", "total_time")  # shown last, in this order
WIDTH = 98  # columns the closing table keeps within (indented by two)


def format_value(value, digits=4):
    """Floats to ``digits`` significant digits (None: float32's shortest repr, for the log file)."""
    if isinstance(value, (float, np.floating)):
        return str(np.float32(value)) if digits is None else f"{float(value):.{digits}g}"
    return str(value)


def format_line(mode, fields, digits=4):
    """``xaiexp-Train: step: 1; ce: 2.3; steps/sec: 40.1;`` with timings last, times in sec."""
    ordered = [(k, v) for k, v in fields.items() if k not in _TIMINGS]
    ordered += [(k, fields[k]) for k in _TIMINGS if k in fields]
    parts = [f"{key}: {format_value(value, digits)}{' sec' if key.endswith('_time') else ''};"
             for key, value in ordered]
    return f"{PREFIX}-{mode.capitalize()}: " + " ".join(parts)


def is_score(key):
    """An explanation score's mean (``xai/<method>/<metric>``), not one of its companions."""
    return key.startswith(EXPLANATION) and not key.endswith(COMPANIONS)


def headline_explanation(keys):
    """The explanation metric an epoch line shows: the first metric of the right-most method (the
    one the saliency figure's overlay shows), e.g. ``xai/smint_saliency/relevance_mass``."""
    scored = [key for key in keys if is_score(key) and explained_method(key) not in FLOOR_KEYS]
    if not scored:
        return None
    method = explained_method(scored[-1])
    return next(key for key in scored if explained_method(key) == method)


def score_cell(logs, key):
    """``0.526 [0.5, 0.55]``: the mean and its 95 % interval; ``~`` first when the score is not
    above its chance floor (``_floor_p`` >= 0.05)."""
    cell = statistics.shown(float(logs[key]), float(logs.get(key + "_ci_low", np.nan)),
                            float(logs.get(key + "_ci_high", np.nan)))
    floor_p = logs.get(key + "_floor_p")
    return f"~{cell}" if floor_p is not None and floor_p >= statistics.ALPHA else cell


def explanation_table(logs, mode="test"):
    """The ``xai/<method>/<metric>`` scores as aligned lines under a header that says what they
    are: a row per method (by its name in ``explain.methods``), the chance floors last, a column
    per metric; columns that would pass WIDTH go to a further block below."""
    rows, counts = {}, set()
    names = method_labels()
    for key in logs:
        if is_score(key):
            method, metric = explanation_parts(key)
            rows.setdefault(names.get(method, method), {})[metric] = score_cell(logs, key)
            if (count := logs.get(key + "_n")) is not None:
                counts.add(int(count))
    if not rows:
        return []
    images = f"{min(counts)}" if len(counts) == 1 else f"{min(counts)}-{max(counts)}" if counts else "the"
    lines = [f"explanation scores of {images} {mode} images: mean [{statistics.LABEL}]; "
             f"~: not above its chance floor"]
    metrics = list(dict.fromkeys(metric for cells in rows.values() for metric in cells))
    first = max(map(len, ["method", *rows])) + 2
    widths = {metric: max(len(metric), *(len(c.get(metric, "")) for c in rows.values())) + 2
              for metric in metrics}
    block = []
    for metric in [*metrics, None]:
        if metric is None or block and first + sum(widths[m] for m in [*block, metric]) > WIDTH:
            lines.append("method".ljust(first) + "".join(m.ljust(widths[m]) for m in block))
            lines += [method.ljust(first) + "".join(cells.get(m, "-").ljust(widths[m]) for m in block)
                      for method, cells in rows.items()]
            block = []
        if metric is not None:
            block.append(metric)
    return [line.rstrip() for line in lines]


def method_labels():
    """{``xai/<method>/...`` key part: label}: the registry's method names, and the floors'."""
    from xaiexp.xai.registry import method_names, metric_key

    return {**{metric_key(name): name for name in method_names()},
            **{key: key.replace("_", " ") for key in FLOOR_KEYS}}


class Logger(Trace):
    """Prints what the other traces logged: a line per logged training step, and per epoch one
    line of the main values (losses, metrics such as accuracy, one headline explanation metric
    and any ``headline`` keys); every value of the epoch goes to the run's log file (see
    ``xaiexp.util.console``) and, after a test epoch, the explanation metrics follow as a table.
    On a terminal, a progress bar with rate and ETA runs over each epoch's steps. The Estimator
    adds it last, so it sees every value."""

    records_logs = True

    def __init__(self, stream=None, headline=()):
        super().__init__(mode=None)
        self._stream = stream
        self.headline = list(headline)  # keys every epoch line shows, e.g. a sweep's objective
        self.start = 0.0
        self.bar = None

    @property
    def stream(self):
        return self._stream or sys.stdout  # looked up late: the console log may wrap stdout

    def needs_batch(self):
        return False

    def on_begin(self, data):
        self.start = time.perf_counter()
        if self.system.mode == "train":
            self._print(format_line("start", {"step": self.system.global_step + 1,
                                             "logging_interval": self.system.log_steps}))

    def on_epoch_begin(self, data):
        system = self.system
        self.bar = tqdm(total=system.steps_per_epoch, desc=f"{system.mode} {system.epoch_idx}/"
                        f"{system.total_epochs}", unit="step", leave=False, disable=None,
                        file=sys.stderr, mininterval=0.2)

    def on_batch_end(self, data):
        if self.bar is not None:
            self.bar.update()
        logs = data.read_logs()
        if logs and self.system.should_log():
            self._print(format_line("train", {"step": self.system.global_step, **logs}))

    def on_epoch_end(self, data):
        self._close_bar()
        logs = data.read_logs()
        position = {"step": self.system.global_step, "epoch": self.system.epoch_idx}
        shown = self._shown(logs)
        self._print(format_line(self.system.mode, {**position, **{k: logs[k] for k in shown}}))
        if len(shown) < len(logs):
            detail(format_line(f"{self.system.mode} (all)", {**position, **logs}, digits=None))
            if self.system.mode == "test" or not self.system.epoch_idx:  # a closing pass (explain's)
                for line in explanation_table(logs, self.system.mode):
                    self._print(f"  {line}")

    def on_end(self, data):
        self._close_bar()
        if self.system.stop_reason:
            self._print(format_line("stopped", {"step": self.system.global_step,
                                               "reason": self.system.stop_reason}))
        elif self.system.mode == "train":
            fields = {"step": self.system.global_step, **data.read_logs(),
                      "total_time": round(time.perf_counter() - self.start, 2)}
            self._print(format_line("finish", fields))

    def _shown(self, logs):
        """The keys of the epoch line: all but explanation metrics and traces' ``quiet_keys``,
        plus the headline explanation metric and ``headline``."""
        quiet = {key for trace in self.system.traces for key in trace.quiet_keys}
        shown = [key for key in logs if not key.startswith(EXPLANATION) and key not in quiet]
        extra = [headline_explanation(logs), *self.headline]
        return [*shown, *dict.fromkeys(key for key in extra if key in logs and key not in shown)]

    def _close_bar(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _print(self, line):
        if self.bar is not None and not self.bar.disable:
            self.bar.clear()
            print(line, file=self.stream, flush=True)
            self.bar.refresh()
        else:
            print(line, file=self.stream, flush=True)
