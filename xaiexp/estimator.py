"""Estimator: epochs x batches, with traces called around every step."""

import contextlib

from xaiexp.network import TrainingDivergedError
from xaiexp.system import System
from xaiexp.trace.essential import EvalEssential, TrainEssential
from xaiexp.trace.logger import Logger
from xaiexp.util.data import Data
from xaiexp.util.util import to_list


def sort_traces(traces):
    """Order traces so that a trace reading a key runs after the traces that write it; ties keep
    the given order."""
    pending, ordered = list(traces), []
    while pending:
        for trace in pending:
            written_by_others = {key for other in pending if other is not trace for key in other.outputs}
            if not set(trace.inputs) & written_by_others:
                break
        else:
            raise ValueError("traces depend on each other in a cycle: "
                             + ", ".join(type(t).__name__ for t in pending))
        pending.remove(trace)
        ordered.append(trace)
    return ordered


class Estimator:
    """Train with ``fit()`` (a training then an eval epoch, ``epochs`` times) and evaluate the
    test split with ``test()``.

    Traces see every step; the Estimator adds the loss/speed bookkeeping before them and the
    console Logger after them. ``max_train_steps_per_epoch`` / ``max_eval_steps_per_epoch`` cut
    epochs short (quick checks, tests).
    """

    def __init__(self, pipeline, network, epochs, traces=None, log_steps=100,
                 max_train_steps_per_epoch=None, max_eval_steps_per_epoch=None):
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        if log_steps is not None and (not isinstance(log_steps, int) or log_steps < 0):
            raise ValueError(f"log_steps must be None or an int >= 0, got {log_steps!r}")
        self.pipeline = pipeline
        self.network = network
        self.epochs = epochs
        self.max_steps = {"train": max_train_steps_per_epoch, "eval": max_eval_steps_per_epoch,
                          "test": max_eval_steps_per_epoch}
        losses = network.loss_keys
        self.traces = [TrainEssential(losses), EvalEssential(losses),
                       *sort_traces(to_list(traces)), Logger()]
        self.system = System(log_steps=log_steps, total_epochs=epochs, network=network,
                             traces=self.traces)
        for trace in self.traces:
            trace.system = self.system
        self._iterators = {}

    def fit(self):
        """Train for the remaining epochs; returns the final eval logs."""
        modes = {"train", "eval"} if "eval" in self.pipeline.data else {"train"}
        eval_logs = {}
        with self._run("train", modes):
            for _ in range(self.system.epoch_idx, self.epochs):
                self.system.epoch_idx += 1
                self._run_epoch("train")
                if "eval" in modes:
                    eval_logs = self._run_epoch("eval")
                if self.system.stop_training:
                    break
        return eval_logs

    def test(self):
        """One pass over the test split; returns its logs (accuracy, loss, ...)."""
        if "test" not in self.pipeline.data:
            raise ValueError("Estimator.test() needs a Pipeline with test_data")
        with self._run("test", {"test"}):
            return self._run_epoch("test")

    def _active(self, modes):
        return [trace for trace in self.traces if trace.mode & modes]

    @contextlib.contextmanager
    def _run(self, run_mode, modes):
        """on_begin before and on_end after (also on errors) for the traces of these modes."""
        traces = self._active(modes)
        self.system.mode = run_mode
        data = Data()
        for trace in traces:
            trace.on_begin(data)
        try:
            yield
        except BaseException as error:
            self.system.stop_reason = f"{type(error).__name__}: {error}"
            raise
        finally:
            self.system.mode = run_mode
            data = Data()
            for trace in traces:
                trace.on_end(data)

    def _iterator(self, mode):
        if mode not in self._iterators:
            self._iterators[mode] = iter(self.pipeline.get_loader(mode))
        return self._iterators[mode]

    def _run_epoch(self, mode):
        system = self.system
        system.mode = mode
        traces = self._active({mode})
        steps = self.pipeline.steps_per_epoch(mode)
        if self.max_steps[mode]:
            steps = min(steps, self.max_steps[mode])
        system.steps_per_epoch = steps
        iterator = self._iterator(mode)
        data = Data()
        for trace in traces:
            trace.on_epoch_begin(data)
        for system.batch_idx in range(1, steps + 1):
            if mode == "train":
                system.global_step += 1
            data = Data()
            for trace in traces:
                trace.on_batch_begin(data)
            try:
                results = self.network.run_step(iterator, mode)
            except TrainingDivergedError as error:
                raise TrainingDivergedError(f"{error} at step {system.global_step}") from None
            if any(trace.needs_batch() for trace in traces):
                results = {key: value.numpy() for key, value in results.items()}
            data = Data(results)
            for trace in traces:
                trace.on_batch_end(data)
        data = Data()
        for trace in traces:
            trace.on_epoch_end(data)
        return data.read_logs()
