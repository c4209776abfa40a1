"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391): the last feature maps,
weighted by the spatial mean of the target's gradient w.r.t. each, summed, ReLU'd and resized
to the input. Coarse (one value per feature-map cell) but class-discriminative."""

import keras
import tensorflow as tf


def last_feature_layer(model):
    """Name of the last layer with a 4-D (B, h, w, channels) output: the feature maps before
    the network flattens or pools them away (the last convolution in LeNet)."""
    return _last_four_d(model, layer_outputs(model)[1])


def _last_four_d(model, outputs):
    for name, output in reversed(outputs.items()):
        if len(output.shape) == 4:
            return name
    raise ValueError(f"model {model.name!r} has no layer with a 4-D (B, h, w, c) output")


def layer_outputs(model):
    """``model``'s symbolic inputs, {layer name: its output in ``model``'s graph} in layer order,
    and the model's output.

    ``layer.output`` is the output of the layer's FIRST call, which need not be in this graph
    (Keras 3): a Sequential reloaded from a ``.keras`` file, or whose layers were first called
    in another model, or a nested model (a backbone) whose own graph that is. So a Sequential is
    traced again on a fresh ``keras.Input``, and a functional model's layers are read from the
    nodes of its own graph (``Function._nodes_by_depth``, keras/src/ops/function.py).
    """
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)
        outputs, tensor = {}, inputs
        for layer in model.layers:
            tensor = outputs[layer.name] = layer(tensor)
        return [inputs], outputs, tensor
    nodes = {node.operation.name: node for nodes in model._nodes_by_depth.values()
             for node in nodes}
    outputs = {layer.name: nodes[layer.name].output_tensors[0] for layer in model.layers
               if not isinstance(layer, keras.layers.InputLayer)}
    return model.inputs, outputs, model.outputs[0]


class GradCam:
    """Grad-CAM maps of ``model`` from ``layer`` (default: ``last_feature_layer``), one compiled
    call per chunk of at most ``chunk_size`` images."""

    def __init__(self, model, layer=None, chunk_size=1024):
        inputs, outputs, last = layer_outputs(model)
        self.layer = layer or _last_four_d(model, outputs)
        self.chunk_size = chunk_size
        if self.layer not in outputs:
            raise ValueError(f"model {model.name!r} has no layer {self.layer!r}; its layers are "
                             f"{list(outputs)}")
        self._features_and_outputs = keras.Model(inputs, [outputs[self.layer], last])
        images = tf.TensorSpec((None, *inputs[0].shape[1:]), tf.float32)
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
