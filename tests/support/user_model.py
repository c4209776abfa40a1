"""A user's own model module, written into a user's folder by the tests that bring their own model."""

import textwrap

MODULE = textwrap.dedent('''
    import keras


    def tiny(input_shape, classes, filters=8):
        """A one-convolution classifier; xaiexp passes input_shape and classes."""
        return keras.Sequential([keras.Input(input_shape),
                                 keras.layers.Conv2D(filters, 3, activation="relu", name="features"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(classes, activation="softmax")])


    def linear(input_shape, classes):
        """The same, its last layer linear: it outputs logits."""
        return keras.Sequential([keras.Input(input_shape),
                                 keras.layers.Conv2D(8, 3, activation="relu", name="features"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(classes, bias_initializer="ones")])
''')
