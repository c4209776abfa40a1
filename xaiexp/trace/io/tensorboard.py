"""TensorBoard: logged scalars and image figures as TensorBoard event files."""

import os

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from xaiexp.trace.trace import Trace
from xaiexp.util.img_data import ImgData


def _plugin_metadata(plugin_name, data_class):
    """The metadata TensorBoard's own summary ops attach, so that the tensorboard package is
    needed only to view the logs, not to write them."""
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
        data_class=data_class,
    )


SCALAR_METADATA = _plugin_metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
IMAGE_METADATA = _plugin_metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)


class TensorBoard(Trace):
    """Writes the logged scalars at each logged training step and epoch end, and the
    ``write_images`` keys (ImgData figures or image batches) at epoch ends, into
    ``log_dir/{mode}``, at the global training step."""

    records_logs = True

    def __init__(self, log_dir="logs", write_images=None, mode=None):
        super().__init__(inputs=write_images, mode=mode)
        self.log_dir = log_dir
        self._writers = {}

    def needs_batch(self):
        return False

    def on_batch_end(self, data):
        if self.system.should_log():
            self._write(data, image_keys=())

    def on_epoch_end(self, data):
        self._write(data, image_keys=[key for key in self.inputs if key in data])

    def on_end(self, data):
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def _write(self, data, image_keys):
        mode, step = self.system.mode, self.system.global_step
        if mode not in self._writers:
            self._writers[mode] = tf.summary.create_file_writer(os.path.join(self.log_dir, mode))
        with self._writers[mode].as_default(step=step):
            for key, value in data.read_logs().items():
                value = np.asarray(value)
                if value.size == 1 and value.dtype.kind in "biuf":
                    tf.summary.write(key, tf.constant(value.item(), tf.float32),
                                     metadata=SCALAR_METADATA)
            for key in image_keys:
                pixels = ImgData.of(key, data[key]).paint_numpy()
                height, width = pixels.shape[:2]
                blob = [str(width).encode(), str(height).encode(), tf.io.encode_png(pixels)]
                tf.summary.write(key, tf.stack(blob), metadata=IMAGE_METADATA)
        self._writers[mode].flush()
