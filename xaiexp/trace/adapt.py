"""Traces that adapt training as it runs."""

import inspect

from xaiexp.trace.trace import Trace


class LRScheduler(Trace):
    """Set ``model``'s learning rate from ``lr_fn`` before every step (or epoch).

    ``lr_fn(step)`` is called with the global step, counted from 1; a function whose first
    parameter is named ``epoch`` is called once per epoch instead, as in FastEstimator. The rate
    is logged as ``<model_name>_lr``.
    """

    def __init__(self, model, lr_fn):
        super().__init__(outputs=f"{model.model_name}_lr", mode="train")
        self.model = model
        self.lr_fn = lr_fn
        first_parameter = next(iter(inspect.signature(lr_fn).parameters), None)
        self.per_epoch = first_parameter == "epoch"

    def on_epoch_begin(self, data):
        if self.per_epoch:
            self._set(self.lr_fn(self.system.epoch_idx))

    def on_batch_begin(self, data):
        if not self.per_epoch:
            self._set(self.lr_fn(self.system.global_step))

    def on_batch_end(self, data):
        if self.system.should_log():
            data.write_with_log(self.outputs[0], self.current_lr())

    def current_lr(self):
        return float(self.model.optimizer.learning_rate.numpy())

    def _set(self, lr):
        self.model.optimizer.learning_rate.assign(lr)
