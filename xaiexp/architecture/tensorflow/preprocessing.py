"""Keras Applications' input preprocessing as a layer, so a model takes raw pixels and saves
to ``.keras`` and loads back with ``safe_mode=True`` (a Lambda layer would not)."""

import keras
from keras import ops

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, "caffe" mode


@keras.saving.register_keras_serializable(package="xaiexp")
class ImagenetPreprocessing(keras.layers.Layer):
    """What ``keras.applications.<app>.preprocess_input`` does to RGB pixels in 0..255, for
    ``mode`` "tf" (to -1..1: MobileNetV2) or "caffe" (RGB to BGR, minus the ImageNet mean per
    channel: ResNet50). One-channel images are repeated to RGB first."""

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("tf", "caffe"):
            raise ValueError(f"mode must be 'tf' or 'caffe', got {mode!r}")
        self.mode = mode

    def call(self, images):
        if images.shape[-1] == 1:
            images = ops.repeat(images, 3, axis=-1)
        if self.mode == "tf":
            return images / 127.5 - 1.0
        return ops.flip(images, axis=-1) - ops.convert_to_tensor(CAFFE_BGR_MEAN, images.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
