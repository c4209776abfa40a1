"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391): the last feature maps,
weighted by the spatial mean of the target's gradient w.r.t. each, summed, ReLU'd and resized
to the input. Coarse (one value per feature-map cell) but class-discriminative."""

import keras
import tensorflow as tf


def last_feature_layer(model):
    """Name of the last layer with a 4-D (B, h, w, channels) output: the feature maps before
    the network flattens or pools them away (the last convolution in LeNet)."""
    for layer in reversed(model.layers):
        if len(layer.output.shape) == 4:
            return layer.name
    raise ValueError(f"model {model.name!r} has no layer with a 4-D (B, h, w, c) output")


class GradCam:
    """Grad-CAM maps of ``model`` from ``layer`` (default: ``last_feature_layer``), one compiled
    call per chunk of at most ``chunk_size`` images."""

    def __init__(self, model, layer=None, chunk_size=1024):
        self.layer = layer or last_feature_layer(model)
        self.chunk_size = chunk_size
        self._features_and_outputs = keras.Model(
            model.inputs, [model.get_layer(self.layer).output, model.outputs[0]])
        images = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
        self._maps = tf.function(self._cam, input_signature=[images, tf.TensorSpec((None,), tf.int32)])

    def __call__(self, images, classes):
        """(B, H, W, 1) float32 maps, >= 0, for the target ``classes`` (B,)."""
        chunks = range(0, len(images), self.chunk_size)
        return tf.concat([self._maps(images[i:i + self.chunk_size],
                                     tf.constant(classes[i:i + self.chunk_size], tf.int32))
                          for i in chunks], axis=0).numpy()

    def _cam(self, images, classes):
        with tf.GradientTape() as tape:
            features, outputs = self._features_and_outputs(images, training=False)
            selected = tf.gather(outputs, classes, axis=1, batch_dims=1)
        weights = tf.reduce_mean(tape.gradient(selected, features), axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
        return tf.image.resize(cam, tf.shape(images)[1:3], method="bilinear")
