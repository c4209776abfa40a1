"""Estimator: epochs x batches, with traces called around every step."""

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from types import FrameType
from typing import Any

import numpy as np

from xaiexp.checkpoint import Checkpoint
from xaiexp.network import Batch, Network, TrainingDivergedError
from xaiexp.pipeline import Pipeline
from xaiexp.system import System
from xaiexp.trace.essential import EvalEssential, TrainEssential
from xaiexp.trace.logger import Logger
from xaiexp.trace.trace import Trace
from xaiexp.util.data import Data
from xaiexp.util.faults import fault_point
from xaiexp.util.util import to_list


def sort_traces(traces: Iterable[Trace]) -> list[Trace]:
    """Order traces so that a trace reading a key runs after the traces that write it, and
    recorders of logs (``Trace.records_logs``) after all others; ties keep the given order."""
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
    return sorted(ordered, key=lambda trace: trace.records_logs)


class TraceInputError(ValueError):
    """A trace reads a key that neither the data, the ops nor another trace writes."""

    def __init__(self, trace: Trace, key: str, written: Iterable[str]) -> None:
        super().__init__(f"{type(trace).__name__} reads {key!r}, which nothing writes; the data, "
                         f"ops and traces write: {', '.join(sorted(written))}")
        self.trace, self.key = trace, key


def check_trace_inputs(pipeline: Pipeline, network: Network, traces: Iterable[Trace]) -> None:
    """Raise TraceInputError for the first trace input that nothing produces (a typo in a key
    would otherwise surface as a KeyError at the end of the first epoch)."""
    datasets = pipeline.data.values()
    if not all(hasattr(dataset, "keys") for dataset in datasets):
        return  # a dataset that does not say its keys: nothing to check against
    written = {key for dataset in datasets for key in dataset.keys}
    written |= {key for op in [*pipeline.ops, *network.ops] for key in op.outputs}
    written |= {key for trace in traces for key in trace.outputs}
    for trace in traces:
        for key in trace.inputs:
            if key not in written:
                raise TraceInputError(trace, key, written)


def _alias(name: str, value: int | None, fastestimator_value: int | None) -> int | None:
    """``value``, or FastEstimator's spelling of the same argument (``name`` without ``max_``)."""
    if value is not None and fastestimator_value is not None and value != fastestimator_value:
        raise ValueError(f"{name}={value!r} and {name.removeprefix('max_')}={fastestimator_value!r} "
                         "are one argument (FastEstimator's name and xaiexp's): give one")
    return fastestimator_value if value is None else value


class Estimator:
    """Train with ``fit()`` (a training then an eval epoch, ``epochs`` times) and evaluate the
    test split with ``test()``.

    Traces see every step; the Estimator adds the loss/speed bookkeeping before them and the
    console Logger after them. ``max_train_steps_per_epoch`` / ``max_eval_steps_per_epoch`` cut
    epochs short (quick checks, tests); FastEstimator's spellings ``train_steps_per_epoch`` /
    ``eval_steps_per_epoch`` are accepted for them (they cut short, but never extend an epoch).

    With a ``checkpoint_dir``, the state is saved after every epoch and when SIGINT (Ctrl-C) or
    SIGTERM arrives: the signal is honoured at the next step boundary, the checkpoint written,
    and KeyboardInterrupt raised (a second signal interrupts at once). ``fit(resume=True)``
    continues from that checkpoint, with the same data order, weights, optimizer state and
    schedule position, so a resumed run ends as an uninterrupted one would.
    """

    def __init__(self, pipeline: Pipeline, network: Network, epochs: int,
                 traces: Trace | Sequence[Trace] | None = None, log_steps: int | None = 100,
                 max_train_steps_per_epoch: int | None = None, max_eval_steps_per_epoch: int | None = None,
                 checkpoint_dir: str | None = None, train_steps_per_epoch: int | None = None,
                 eval_steps_per_epoch: int | None = None) -> None:
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        if log_steps is not None and (not isinstance(log_steps, int) or log_steps < 0):
            raise ValueError(f"log_steps must be None or an int >= 0, got {log_steps!r}")
        self.pipeline = pipeline
        self.network = network
        self.epochs = epochs
        max_train = _alias("max_train_steps_per_epoch", max_train_steps_per_epoch, train_steps_per_epoch)
        max_eval = _alias("max_eval_steps_per_epoch", max_eval_steps_per_epoch, eval_steps_per_epoch)
        self.max_steps = {"train": max_train, "eval": max_eval, "test": max_eval}
        losses = network.loss_keys
        self.traces = [TrainEssential(losses), EvalEssential(losses),
                       *sort_traces(to_list(traces)), Logger()]
        check_trace_inputs(pipeline, network, self.traces)
        self.system = System(log_steps=log_steps, total_epochs=epochs, network=network,
                             traces=self.traces)
        for trace in self.traces:
            trace.system = self.system
        self.checkpoint = Checkpoint(checkpoint_dir) if checkpoint_dir else None
        self._iterators: dict[str, Iterator[Batch]] = {}
        self._train_done = 0  # training batches finished in the current epoch
        self._eval_logs: dict[str, Any] = {}  # the last eval epoch's logs, what fit() returns

    def fit(self, resume: bool = False) -> dict[str, Any]:
        """Train for the remaining epochs; returns the final eval logs. ``resume=True`` first
        restores the checkpoint in ``checkpoint_dir``, if there is one."""
        modes = {"train", "eval"} if "eval" in self.pipeline.data else {"train"}
        if resume and self.checkpoint and self.checkpoint.exists():
            self._restore()
        with self._run("train", modes), self._stop_on_signals():
            while self.system.epoch_idx < self.epochs or self._train_done:
                if not self._train_done:
                    self.system.epoch_idx += 1
                if self._train_done < self._steps("train"):
                    self._run_epoch("train", skip=self._train_done)
                self._train_done = self._steps("train")
                if "eval" in modes:
                    self._eval_logs = self._run_epoch("eval")
                fault_point("estimator.epoch_end")
                self._train_done = 0
                self._save()
                if self.system.stop_training:
                    break
        return self._eval_logs

    def test(self, mode: str = "test") -> dict[str, Any]:
        """One pass over the test split; returns its logs (accuracy, loss, ...). ``mode="eval"``
        makes it a pass over the eval split, outside fit (``xaiexp explain explain.split=eval``):
        its values are then logged and shown as eval's."""
        if mode not in ("eval", "test") or mode not in self.pipeline.data:
            raise ValueError(f"Estimator.test(mode={mode!r}) needs mode 'eval' or 'test' and a "
                             f"Pipeline with {mode}_data")
        with self._run(mode, {mode}):
            return self._run_epoch(mode)

    def _steps(self, mode: str) -> int:
        steps = self.pipeline.steps_per_epoch(mode)
        limit = self.max_steps[mode]
        return min(steps, limit) if limit else steps

    def _save(self) -> None:
        if self.checkpoint:
            position = {"epoch_idx": self.system.epoch_idx, "global_step": self.system.global_step,
                        "train_done": self._train_done,
                        "eval_logs": {k: float(v) for k, v in self._eval_logs.items() if np.ndim(v) == 0}}
            states = {f"{i}:{type(t).__name__}": t.state_dict() for i, t in enumerate(self.traces)
                      if t.state_dict() is not None}
            self.checkpoint.save(self.network.models, position, states)

    def _restore(self) -> None:
        assert self.checkpoint is not None  # fit() restores only with a checkpoint_dir
        position, states = self.checkpoint.load(self.network.models)
        self.system.epoch_idx = position["epoch_idx"]
        self.system.global_step = position["global_step"]
        self._train_done = position["train_done"]
        self._eval_logs = position["eval_logs"]
        for i, trace in enumerate(self.traces):
            key = f"{i}:{type(trace).__name__}"
            if key in states:
                trace.load_state_dict(states[key])

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM ask the loop to stop at the next step boundary (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self.system.stop_requested:
                raise KeyboardInterrupt(name)
            self.system.stop_requested = name

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop_if_requested(self) -> None:
        if self.system.stop_requested:
            self._save()
            raise KeyboardInterrupt(self.system.stop_requested)

    def _active(self, modes: set[str]) -> list[Trace]:
        return [trace for trace in self.traces if trace.mode & modes]

    @contextlib.contextmanager
    def _run(self, run_mode: str, modes: set[str]) -> Iterator[None]:
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

    def _iterator(self, mode: str, skip: int = 0) -> Iterator[Batch]:
        """One long-lived iterator per mode; training's starts at the current epoch's data order
        (after ``skip`` batches when resuming mid-epoch). Split over the replicas when the
        Network trains data-parallel."""
        if mode not in self._iterators:
            first_epoch = max(self.system.epoch_idx - 1, 0) if mode == "train" else 0
            loader = self.pipeline.get_loader(mode, first_epoch, skip)
            self._iterators[mode] = iter(self.network.distribute(loader))
        return self._iterators[mode]

    def _run_epoch(self, mode: str, skip: int = 0) -> dict[str, Any]:
        system = self.system
        system.mode = mode
        traces = self._active({mode})
        steps = self._steps(mode)
        system.steps_per_epoch = steps
        iterator = self._iterator(mode, skip)
        data = Data()
        for trace in traces:
            trace.on_epoch_begin(data)
        for system.batch_idx in range(skip + 1, steps + 1):
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
            if mode == "train":
                self._train_done = system.batch_idx
                fault_point("estimator.step")
            self._stop_if_requested()
        data = Data()
        for trace in traces:
            trace.on_epoch_end(data)
        self._stop_if_requested()
        return data.read_logs()
