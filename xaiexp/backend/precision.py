"""Mixed precision with Keras' dtype policies (README "GPU machines"): layers compute in float16
or bfloat16 and keep float32 weights, which is what makes a GPU's tensor cores pay. The model's
final layer computes in float32, so probabilities, losses, saliency targets and their gradients
with respect to the (float32) inputs stay float32 (Keras' mixed-precision guide does the same
for its softmax)."""

import contextlib

import keras

FLOAT32 = "float32"


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Layers created inside compute in ``precision``, a Keras dtype policy name (a config picks
    one of ``choices.PRECISIONS``); the global policy is restored after."""
    policy = keras.DTypePolicy(precision)  # an unknown name raises ValueError, naming the choices
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_output(model: keras.Model) -> keras.Model:
    """``model``, its final layer switched to compute in float32 (it casts its inputs up)."""
    if model.layers and model.layers[-1].compute_dtype != FLOAT32:
        model.layers[-1].dtype_policy = FLOAT32
    return model


def loss_scaled(optimizer: keras.optimizers.Optimizer, precision: str) -> keras.optimizers.Optimizer:
    """``optimizer``, wrapped in Keras' dynamic LossScaleOptimizer where ``precision`` computes
    in float16, whose small gradients would otherwise underflow to 0 (bfloat16's range is
    float32's: it needs no scaling)."""
    if keras.DTypePolicy(precision).compute_dtype == "float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def float32_copy(model: keras.Model) -> keras.Model:
    """``model`` itself when all its layers compute in float32; else a clone whose layers do, to
    explain it: saliency maps through float16 activations differ from float32 ones by ~10 %,
    through a float32 clone by float32 round-off. ``follow`` keeps its weights the model's."""
    if all(layer.compute_dtype == FLOAT32 for layer in _layers(model)):
        return model
    copy = keras.models.clone_model(model, clone_function=_in_float32, recursive=True)
    return follow(copy, model)


def follow(copy: keras.Model, model: keras.Model) -> keras.Model:
    """``copy`` (of ``float32_copy``) with ``model``'s current weights: the same numbers, as
    mixed policies keep their weights in float32."""
    if copy is not model:
        copy.set_weights(model.get_weights())
    return copy


def _in_float32(layer):
    return layer.__class__.from_config({**layer.get_config(), "dtype": FLOAT32})


def _layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
