"""Metric traces: accumulate over an epoch's batches, report at the epoch's end."""

import numpy as np

from xaiexp.trace.trace import Trace


class Accuracy(Trace):
    """Share of samples whose predicted class (argmax of ``pred_key``) equals ``true_key``."""

    def __init__(self, true_key, pred_key, mode=("eval", "test"), output_name="accuracy"):
        super().__init__(inputs=(true_key, pred_key), outputs=output_name, mode=mode)
        self.correct = 0
        self.total = 0

    def on_epoch_begin(self, data):
        self.correct = 0
        self.total = 0

    def on_batch_end(self, data):
        y_true, y_pred = (np.asarray(data[key]) for key in self.inputs)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] > 1:  # one-hot labels
            y_true = np.argmax(y_true, axis=-1)
        predicted = np.argmax(y_pred, axis=-1) if y_pred.shape[-1] > 1 else np.round(y_pred[..., 0])
        self.correct += int(np.sum(predicted == y_true.reshape(predicted.shape)))
        self.total += len(predicted)

    def on_epoch_end(self, data):
        data.write_with_log(self.outputs[0], self.correct / max(self.total, 1))
