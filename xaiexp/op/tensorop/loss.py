"""Loss ops: reduce predictions and targets to a scalar the UpdateOp can minimize."""

import keras
import tensorflow as tf

from xaiexp.op.tensorop.tensorop import TensorOp


class CrossEntropy(TensorOp):
    """Categorical cross-entropy, mean over the batch.

    ``inputs=(y_pred, y)``. Integer labels use the sparse form, one-hot labels the dense one,
    a single output unit the binary one. ``from_logits=False`` matches a softmax model such as
    LeNet.
    """

    def __init__(self, inputs, outputs, mode=None, from_logits=False):
        super().__init__(inputs=inputs, outputs=outputs, mode=mode)
        self.from_logits = from_logits

    def forward(self, data, state):
        y_pred, y_true = data
        if y_pred.shape[-1] == 1:
            loss = keras.losses.binary_crossentropy(
                tf.reshape(tf.cast(y_true, y_pred.dtype), tf.shape(y_pred)), y_pred,
                from_logits=self.from_logits)
        elif y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == y_pred.shape[-1]:
            loss = keras.losses.categorical_crossentropy(
                tf.cast(y_true, y_pred.dtype), y_pred, from_logits=self.from_logits)
        else:
            loss = keras.losses.sparse_categorical_crossentropy(
                tf.reshape(y_true, [-1]), y_pred, from_logits=self.from_logits)
        return tf.reduce_mean(loss)
