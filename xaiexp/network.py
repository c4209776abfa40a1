"""Network: the tensor ops of one training step, compiled once per mode."""

import keras
import tensorflow as tf

from xaiexp.op.tensorop.model import ModelOp, UpdateOp

DIVERGED = "xaiexp: non-finite loss"


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; the weights are left as they were before."""


def build(model_fn, optimizer_fn, model_name="model"):
    """Create the model and attach its optimizer, as ``fe.build`` does.

    ``optimizer_fn`` is a Keras optimizer name ("adam", "sgd", ...) or a function returning an
    optimizer. ``model_name`` prefixes the model's logged values (``model_lr``).
    """
    model = model_fn()
    optimizer = keras.optimizers.get(optimizer_fn) if isinstance(optimizer_fn, str) else optimizer_fn()
    optimizer.build(model.trainable_variables)
    model.optimizer = optimizer
    model.model_name = model_name
    return model


class Network:
    """Runs ``ops`` in order on each batch: ModelOps, losses, then UpdateOps in "train" mode.

    One ``tf.function`` per mode pulls the batch from the pipeline's iterator inside the graph
    (as Keras' ``fit`` does), so a step costs one Python call however many ops there are.
    """

    def __init__(self, ops):
        self.ops = list(ops)
        self.models = list({id(op.model): op.model for op in self.ops if isinstance(op, ModelOp | UpdateOp)}.values())
        for model in self.models:
            if not hasattr(model, "model_name"):
                raise ValueError("Network models must come from xaiexp.build(model_fn, optimizer_fn)")
        self.loss_keys = [op.inputs[0] for op in self.ops if isinstance(op, UpdateOp)]
        self._steps = {}

    def run_step(self, iterator, mode):
        """Take the next batch from ``iterator`` and run the ops of ``mode``; returns the batch
        with every op output added, as tensors."""
        if mode not in self._steps:
            self._steps[mode] = tf.function(lambda it: self.forward(next(it), mode))
        try:
            return self._steps[mode](iterator)
        except tf.errors.InvalidArgumentError as error:
            if DIVERGED not in error.message:
                raise
            key = error.message.split(DIVERGED, 1)[1].split(":")[0].strip()
            raise TrainingDivergedError(
                f"training diverged: loss {key!r} is NaN or infinite (lower the learning rate?)") from None

    def forward(self, batch, mode):
        """The ops of ``mode`` on one batch (eager or traced); returns the enlarged batch."""
        batch = dict(batch)
        ops = [op for op in self.ops if mode in op.mode]
        forward_ops = [op for op in ops if not isinstance(op, UpdateOp)]
        update_ops = [op for op in ops if isinstance(op, UpdateOp)]
        if not update_ops:
            for op in forward_ops:
                op.apply(batch, {"mode": mode})
            return batch
        with tf.GradientTape(persistent=len(update_ops) > 1) as tape:
            for op in forward_ops:
                op.apply(batch, {"mode": mode})
            for key in {op.inputs[0] for op in update_ops}:  # never apply a NaN/Inf gradient
                batch[key] = tf.debugging.check_numerics(batch[key], f"{DIVERGED} {key}")
        for op in update_ops:
            op.apply(batch, {"mode": mode, "tape": tape})
        return batch
