"""A tiny LeNet experiment on images a few training steps separate."""

import numpy as np

import xaiexp as xe
from xaiexp.architecture.tensorflow import LeNet
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.trace.metric import Accuracy


def separable(n, seed=0, size=20):
    """Class 1 images have a bright top half: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 100, (n, size, size, 3), dtype=np.uint8)
    y = rng.integers(0, 2, n)
    x[y == 1, : size // 2] += 150
    return x, y


def make_estimator(epochs=2, traces=lambda model: [], log_steps=5, n=384, model_fn=None, batch_size=32,
                   checkpoint_dir=None):
    """A tiny LeNet experiment; ``traces(model)`` adds traces that need the model."""
    x, y = separable(n)
    train = xe.dataset.NumpyDataset({"x": x[: n // 2], "y": y[: n // 2]}, {"dark": 0, "bright": 1})
    evaluation = xe.dataset.NumpyDataset({"x": x[n // 2:], "y": y[n // 2:]})
    test = evaluation.split(0.5, seed=1)
    pipeline = xe.Pipeline(train_data=train, eval_data=evaluation, test_data=test, batch_size=batch_size,
                           ops=[Normalize(inputs="x", outputs="x", mean=0.2, std=0.3)], seed=0)
    model = xe.build(model_fn=model_fn or (lambda: LeNet(input_shape=(20, 20, 3), classes=2)), optimizer_fn="adam")
    network = xe.Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                              CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                              UpdateOp(model=model, loss_name="ce")])
    traces = [Accuracy(true_key="y", pred_key="y_pred"), *traces(model)]
    return xe.Estimator(pipeline=pipeline, network=network, epochs=epochs, traces=traces,
                        log_steps=log_steps, checkpoint_dir=checkpoint_dir), model
