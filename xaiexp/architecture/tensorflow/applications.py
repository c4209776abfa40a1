"""Pretrained Keras Applications backbones with a new softmax head, taking raw pixels.

The model is one flat graph: raw RGB pixels (0..255; grayscale is repeated to RGB), the
backbone's own preprocessing (``ImagenetPreprocessing``), the backbone without its ImageNet
classifier, global average pooling, dropout and a softmax over ``classes``, so its output is a
probability as in FastEstimator's LeNet, and Grad-CAM finds the backbone's last feature maps.
Freezing follows Keras' transfer-learning guide (https://keras.io/guides/transfer_learning/):
a non-trainable backbone's BatchNormalization layers run in inference mode.
"""

import keras

from xaiexp.architecture.pretrained import weights_file
from xaiexp.architecture.tensorflow.preprocessing import ImagenetPreprocessing


def MobileNetV2(input_shape=(224, 224, 3), classes=10, weights="imagenet", freeze_backbone=True,
                dropout=0.2, alpha=1.0) -> keras.Model:
    """MobileNetV2 (Sandler et al. 2018) of width ``alpha``; ``weights`` is "imagenet" (from
    Keras' cache, never downloaded: ``xaiexp.architecture.pretrained``), None (random) or the
    path of a MobileNetV2 .h5 weights file without the top."""
    return _classifier("mobilenet_v2", keras.applications.MobileNetV2, "tf", input_shape, classes,
                       weights, freeze_backbone, dropout, alpha=alpha)


def ResNet50(input_shape=(224, 224, 3), classes=10, weights="imagenet", freeze_backbone=True,
             dropout=0.2) -> keras.Model:
    """ResNet50 (He et al. 2016); ``weights`` as for ``MobileNetV2``."""
    return _classifier("resnet50", keras.applications.ResNet50, "caffe", input_shape, classes,
                       weights, freeze_backbone, dropout)


def _classifier(name, application, mode, input_shape, classes, weights, freeze_backbone, dropout,
                **options):
    file = weights_file(name, weights, tuple(input_shape), **options)
    images = keras.Input(shape=input_shape, name="image")
    pixels = ImagenetPreprocessing(mode, name="preprocessing")(images)
    # A weights path makes Keras load the file itself: "imagenet" would let it try to download.
    backbone = application(input_tensor=pixels, include_top=False, pooling="avg", weights=file,
                           **options)
    backbone.trainable = not freeze_backbone
    features = keras.layers.Dropout(dropout, name="head_dropout")(backbone.output)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(features)
    return keras.Model(images, outputs, name=name)
