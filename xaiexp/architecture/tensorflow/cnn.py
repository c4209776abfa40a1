"""A small CNN that beats LeNet on CIFAR-10 at a similar cost per image."""

from dataclasses import dataclass
from typing import ClassVar

from xaiexp.architecture.keys import ModelKeys
from xaiexp.util.bounds import bounded


@dataclass
class CNNConfig(ModelKeys):
    MIN_IMAGE_SIZE: ClassVar[int] = 4
    _target_: str = "xaiexp.architecture.tensorflow.CNN"
    width: int = bounded(1, minimum=1)
    dropout: float = bounded(0.2, minimum=0, below=1)


SCHEMAS = (CNNConfig,)


def _conv_block(filters):
    import keras

    return [
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(2),
    ]


def CNN(input_shape=(32, 32, 3), classes=10, width=CNNConfig.width, dropout=CNNConfig.dropout):
    """Two double-convolution blocks with batch norm (32, 64 filters x ``width``), a 128-filter
    convolution, global average pooling, dropout and a softmax over ``classes``."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_block(32 * width),
            *_conv_block(64 * width),
            keras.layers.Conv2D(128 * width, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(classes, activation="softmax"),
        ],
        name="cnn",
    )
