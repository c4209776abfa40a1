"""Ops that run a model forward (ModelOp) and update its weights (UpdateOp)."""

import keras

from xaiexp.op.tensorop.tensorop import TensorOp


class ModelOp(TensorOp):
    """``outputs = model(inputs)``; dropout and batch-norm layers train only in "train" mode."""

    def __init__(self, model, inputs, outputs, mode=None):
        super().__init__(inputs=inputs, outputs=outputs, mode=mode)
        self.model = model

    def forward(self, data, state):
        return self.model(data, training=state["mode"] == "train")


class UpdateOp(TensorOp):
    """Apply the gradient of ``loss_name`` to ``model`` with the optimizer given to ``build``.

    Runs in "train" mode only. The Network records the forward ops on a gradient tape and
    passes it in ``state["tape"]``.
    """

    def __init__(self, model, loss_name, mode="train"):
        super().__init__(inputs=loss_name, outputs=None, mode=mode)
        self.model = model

    def forward(self, data, state):
        variables = self.model.trainable_variables
        # the backward pass starts from the optimizer's loss scale (1 unless mixed_float16)
        scale = self.model.optimizer.scale_loss(keras.ops.ones_like(data))
        gradients = state["tape"].gradient(data, variables, output_gradients=scale)
        self.model.optimizer.apply_gradients(zip(gradients, variables))
