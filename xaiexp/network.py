"""Network: the tensor ops of one training step, compiled once per mode."""

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import keras
import tensorflow as tf

from xaiexp.backend.precision import dtype_policy, float32_output, loss_scaled
from xaiexp.backend.distribute import merge_replicas
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.op.tensorop.tensorop import TensorOp

Batch = dict[str, Any]  # key -> tensor

DIVERGED = "xaiexp: non-finite loss"


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite: in training (the weights are left as they were before),
    or in eval/test, where the same guard keeps a NaN from being logged as a result."""


def build(model_fn: Callable[[], keras.Model], optimizer_fn: str | Callable[[], keras.optimizers.Optimizer],
          model_name: str = "model", strategy: tf.distribute.Strategy | None = None,
          precision: str = "float32") -> keras.Model:
    """Create the model and attach its optimizer, as ``fe.build`` does.

    ``optimizer_fn`` is a Keras optimizer name ("adam", "sgd", ...) or a function returning an
    optimizer. ``model_name`` prefixes the model's logged values (``model_lr``). With a
    ``tf.distribute`` ``strategy`` (``xaiexp.backend.distribute.get_strategy("mirrored")``, or the one
    whose ``scope()`` is active), both are created in its scope and the Network trains the
    model data-parallel. ``precision`` is the Keras dtype policy its layers are created with:
    "float32", or "mixed_float16" / "mixed_bfloat16" (GPU training; the final layer stays
    float32, and float16 gets a loss-scaling optimizer, see ``xaiexp.backend.precision``).
    """
    if strategy is None and tf.distribute.has_strategy():
        strategy = tf.distribute.get_strategy()
    with strategy.scope() if strategy else contextlib.nullcontext(), dtype_policy(precision):
        model = float32_output(model_fn())
        optimizer = keras.optimizers.get(optimizer_fn) if isinstance(optimizer_fn, str) else optimizer_fn()
        optimizer = loss_scaled(optimizer, precision)
        optimizer.build(model.trainable_variables)
    model.optimizer = optimizer
    model.model_name = model_name
    model.strategy = strategy
    return model


class Network:
    """Runs ``ops`` in order on each batch: ModelOps, losses, then UpdateOps in "train" mode.

    One ``tf.function`` per mode pulls the batch from the pipeline's iterator inside the graph
    (as Keras' ``fit`` does), so a step costs one Python call however many ops there are.

    Models built with a ``strategy`` train data-parallel: each replica runs the ops on its
    slice of the global batch, weighs its losses by its share of the batch (so the optimizer's
    all-reduced SUM of gradients is the gradient of the global batch's mean loss), and the
    step returns the global batch (losses summed, predictions gathered) as on one device.
    """

    def __init__(self, ops: Iterable[TensorOp]) -> None:
        self.ops = list(ops)
        self.models = list({id(op.model): op.model for op in self.ops if isinstance(op, ModelOp | UpdateOp)}.values())
        for model in self.models:
            if not hasattr(model, "model_name"):
                raise ValueError("Network models must come from xaiexp.build(model_fn, optimizer_fn)")
        self.loss_keys = [op.inputs[0] for op in self.ops if isinstance(op, UpdateOp)]
        strategies = {id(model.strategy): model.strategy for model in self.models}
        if len(strategies) > 1:
            raise ValueError("all of a Network's models must be built with the same strategy")
        self.strategy: tf.distribute.Strategy | None = next(iter(strategies.values()), None)
        self._steps: dict[str, Callable[[Iterator[Batch]], Batch]] = {}

    def distribute(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """The pipeline's ``dataset`` (of global batches) split over the strategy's replicas."""
        return self.strategy.experimental_distribute_dataset(dataset) if self.strategy else dataset

    def run_step(self, iterator: Iterator[Batch], mode: str) -> Batch:
        """Take the next batch from ``iterator`` and run the ops of ``mode``; returns the batch
        with every op output added, as tensors."""
        if mode not in self._steps:
            step = self._distributed_step if self.strategy else self._step
            self._steps[mode] = tf.function(lambda iterator: step(iterator, mode))
        try:
            return self._steps[mode](iterator)
        except tf.errors.InvalidArgumentError as error:
            if DIVERGED not in error.message:
                raise
            key = error.message.split(DIVERGED, 1)[1].split(":")[0].strip()
            raise TrainingDivergedError(
                f"training diverged: loss {key!r} is NaN or infinite (lower the learning rate?)"
                if mode == "train" else f"the {mode} loss {key!r} is NaN or infinite (non-finite "
                                        f"{mode} images, or a model whose outputs overflow?)") from None

    def _step(self, iterator: Iterator[Batch], mode: str) -> Batch:
        return self.forward(next(iterator), mode)

    def _distributed_step(self, iterator: Iterator[Batch], mode: str) -> Batch:
        def replica_step(batch: Batch) -> Batch:
            size = tf.shape(next(iter(batch.values())))[0]
            total = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, tf.cast(size, tf.float32))
            # A final batch smaller than the replica count leaves a replica empty-handed, and
            # oneDNN's convolutions refuse empty batches: run it on one zero sample, weighted 0
            # and cut from the results.
            batch = {key: tf.cond(size > 0, lambda v=value: v,
                                  lambda v=value: tf.zeros(tf.concat([[1], tf.shape(v)[1:]], 0), v.dtype))
                     for key, value in batch.items()}
            results = self.forward(batch, mode, loss_weight=tf.cast(size, tf.float32) / total)
            return {key: value[:size] if value.shape.rank else value for key, value in results.items()}

        strategy = cast(tf.distribute.Strategy, self.strategy)  # this step is only made with one
        results = strategy.run(replica_step, args=(next(iterator),))
        return merge_replicas(strategy, results, self.loss_keys)

    def forward(self, batch: Batch, mode: str, loss_weight: tf.Tensor | None = None) -> Batch:
        """The ops of ``mode`` on one batch (eager or traced); returns the enlarged batch.

        ``loss_weight`` (a replica's share of the global batch) scales the losses before their
        gradients are taken (a weight of 0 gives 0, even for a NaN loss).
        """
        batch = dict(batch)
        ops = [op for op in self.ops if mode in op.mode]
        forward_ops = [op for op in ops if not isinstance(op, UpdateOp)]
        update_ops = [op for op in ops if isinstance(op, UpdateOp)]
        if not update_ops:
            for op in forward_ops:
                op.apply(batch, {"mode": mode})
            return self._checked_losses(self._weigh_losses(batch, loss_weight), self.loss_keys)
        with tf.GradientTape(persistent=len(update_ops) > 1) as tape:
            for op in forward_ops:
                op.apply(batch, {"mode": mode})
            batch = self._weigh_losses(batch, loss_weight)  # never apply a NaN/Inf gradient:
            batch = self._checked_losses(batch, {op.inputs[0] for op in update_ops})
        for op in update_ops:
            op.apply(batch, {"mode": mode, "tape": tape})
        return batch

    @staticmethod
    def _checked_losses(batch: Batch, keys: Iterable[str]) -> Batch:
        """``batch`` whose losses under ``keys`` fail the step when NaN or infinite."""
        for key in keys:
            if key in batch:
                batch[key] = tf.debugging.check_numerics(batch[key], f"{DIVERGED} {key}")
        return batch

    def _weigh_losses(self, batch: Batch, weight: tf.Tensor | None) -> Batch:
        if weight is not None:
            for key in self.loss_keys:
                if key in batch:
                    batch[key] = tf.math.multiply_no_nan(batch[key], tf.cast(weight, batch[key].dtype))
        return batch
