"""Pretrained Keras Applications backbones with a new softmax head, taking raw pixels.

The model is one flat graph: raw RGB pixels (0..255; grayscale is repeated to RGB), the
backbone's own preprocessing (``ImagenetPreprocessing``), the backbone without its ImageNet
classifier, global average pooling, dropout and a softmax over ``classes``, so its output is a
probability as in FastEstimator's LeNet, and Grad-CAM finds the backbone's last feature maps.
Freezing follows Keras' transfer-learning guide (https://keras.io/guides/transfer_learning/):
a non-trainable backbone's BatchNormalization layers run in inference mode.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Optional

from xaiexp.architecture import pretrained
from xaiexp.architecture.keys import ModelKeys
from xaiexp.util.bounds import bounded

if TYPE_CHECKING:
    import keras


@dataclass
class BackboneConfig(ModelKeys):
    """A Keras Applications backbone with a new head; ``weights``: imagenet, null or a file."""
    MIN_IMAGE_SIZE: ClassVar[int] = pretrained.MIN_SIZE
    BACKBONE: ClassVar[str] = ""  # its name in xaiexp.architecture.pretrained
    weights: Optional[str] = "imagenet"  # imagenet (from Keras' cache), null, or a weights file
    freeze_backbone: bool = True
    dropout: float = bounded(0.2, minimum=0, below=1)


@dataclass
class MobileNetV2Config(BackboneConfig):
    BACKBONE: ClassVar[str] = "mobilenet_v2"
    _target_: str = "xaiexp.architecture.tensorflow.MobileNetV2"
    alpha: float = bounded(1.0, above=0)  # width multiplier


@dataclass
class ResNet50Config(BackboneConfig):
    BACKBONE: ClassVar[str] = "resnet50"
    _target_: str = "xaiexp.architecture.tensorflow.ResNet50"


SCHEMAS = (MobileNetV2Config, ResNet50Config)
IMAGENET_SHAPE = (pretrained.IMAGENET_SIZE, pretrained.IMAGENET_SIZE, 3)


def MobileNetV2(input_shape=IMAGENET_SHAPE, classes=10, weights=MobileNetV2Config.weights,
                freeze_backbone=MobileNetV2Config.freeze_backbone, dropout=MobileNetV2Config.dropout,
                alpha=MobileNetV2Config.alpha) -> "keras.Model":
    """MobileNetV2 (Sandler et al. 2018) of width ``alpha``; ``weights`` is "imagenet" (from
    Keras' cache, never downloaded: ``xaiexp.architecture.pretrained``), None (random) or the
    path of a MobileNetV2 .h5 weights file without the top."""
    return _classifier(MobileNetV2Config.BACKBONE, "MobileNetV2", "tf", input_shape, classes,
                       weights, freeze_backbone, dropout, alpha=alpha)


def ResNet50(input_shape=IMAGENET_SHAPE, classes=10, weights=ResNet50Config.weights,
             freeze_backbone=ResNet50Config.freeze_backbone,
             dropout=ResNet50Config.dropout) -> "keras.Model":
    """ResNet50 (He et al. 2016); ``weights`` as for ``MobileNetV2``."""
    return _classifier(ResNet50Config.BACKBONE, "ResNet50", "caffe", input_shape, classes,
                       weights, freeze_backbone, dropout)


def _classifier(name, application, mode, input_shape, classes, weights, freeze_backbone, dropout,
                **options):
    """The backbone ``name`` (``xaiexp.architecture.pretrained``'s), ``keras.applications``'
    ``application``, between ``mode``'s preprocessing and a new head."""
    import keras

    from xaiexp.architecture.tensorflow.preprocessing import ImagenetPreprocessing

    file = pretrained.weights_file(name, weights, tuple(input_shape), **options)
    images = keras.Input(shape=input_shape, name="image")
    pixels = ImagenetPreprocessing(mode, name="preprocessing")(images)
    # A weights path makes Keras load the file itself: "imagenet" would let it try to download.
    backbone = getattr(keras.applications, application)(input_tensor=pixels, include_top=False,
                                                        pooling="avg", weights=file, **options)
    backbone.trainable = not freeze_backbone
    features = keras.layers.Dropout(dropout, name="head_dropout")(backbone.output)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(features)
    return keras.Model(images, outputs, name=name)
