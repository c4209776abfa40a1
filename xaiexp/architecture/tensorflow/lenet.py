"""FastEstimator's LeNet, the seed tutorial's model."""

from dataclasses import dataclass
from typing import ClassVar

from xaiexp.architecture.keys import ModelKeys
from xaiexp.util.bounds import bounded


@dataclass
class LeNetConfig(ModelKeys):
    MIN_IMAGE_SIZE: ClassVar[int] = 18
    _target_: str = "xaiexp.architecture.tensorflow.LeNet"
    width: int = bounded(1, minimum=1)  # multiplies every layer's filters/units


SCHEMAS = (LeNetConfig,)


def LeNet(input_shape=(28, 28, 1), classes=10, width=LeNetConfig.width):
    """Three 3x3 convolutions (32, 64, 64 filters x ``width``), two pools, a 64-unit dense layer,
    and a softmax over ``classes``; the output is a probability, as in FastEstimator."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(32 * width, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64 * width, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64 * width, (3, 3), activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64 * width, activation="relu"),
            keras.layers.Dense(classes, activation="softmax"),
        ],
        name="lenet",
    )
