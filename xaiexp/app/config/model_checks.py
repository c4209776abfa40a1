"""Pre-flight of the model a config names: a saved model's file, and that the dataset's images
suit the model (its smallest input, a pretrained model's weights where Keras keeps them; nothing
is downloaded). No TensorFlow."""

from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.validate import require
from xaiexp.architecture.keras_file import keras_file_problem
from xaiexp.architecture.keys import ModelKeys
from xaiexp.architecture.tensorflow.saved import SavedModelConfig


def check_saved_model(model):
    """``model.path`` of a saved Keras model is a file Keras can load."""
    if model._target_ == SavedModelConfig._target_:
        problem = keras_file_problem(model.path)
        require(problem is None, "model.path", problem)


def check_model_fits(cfg, image_shape, source):
    """The model takes the dataset's images (``image_shape``, of dataset ``source``)."""
    height, width, _ = image_shape
    model = cfg.model._target_
    schema = target_schemas().get(model, ModelKeys)
    smallest = schema.MIN_IMAGE_SIZE
    require(min(height, width) >= smallest, "dataset.image_size" if "image_size" in cfg.dataset else "model",
            f"{source} has {height}x{width} images; model {model.split('.')[-1]} needs at least "
            f"{smallest}x{smallest}")
    if getattr(schema, "BACKBONE", None):
        from xaiexp.architecture.pretrained import weights_problem

        options = {"alpha": cfg.model.alpha} if "alpha" in cfg.model else {}
        problem = weights_problem(schema.BACKBONE, cfg.model.weights, image_shape, **options)
        require(problem is None, "model.weights", problem)
