"""FastEstimator's LeNet, the seed tutorial's model."""

import keras


def LeNet(input_shape=(28, 28, 1), classes=10, width=1):
    """Three 3x3 convolutions (32, 64, 64 filters x ``width``), two pools, a 64-unit dense layer,
    and a softmax over ``classes``; the output is a probability, as in FastEstimator."""
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
