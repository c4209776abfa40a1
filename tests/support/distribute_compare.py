"""Train the same tiny experiments on one device and data-parallel over two logical CPUs; print
both results as JSON. A script, run by test_distribute.py in a fresh process: the CPU can be
split into logical devices only before TensorFlow initializes its devices."""

import json
import tempfile

import tensorflow as tf

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
tf.config.experimental.enable_op_determinism()

import keras
import numpy as np

import xaiexp as xe
from xaiexp.architecture.tensorflow import LeNet
from xaiexp.backend.distribute import get_strategy
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.trace.metric import Accuracy


def library_run(distribute):
    """Plain SGD (whose step, unlike Adam's, scales with the gradient), on splits whose last
    batches are uneven (5 = 3 + 2) or leave a replica empty (1 = 1 + 0)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 100, (193 + 101, 20, 20, 3), dtype=np.uint8)
    y = rng.integers(0, 2, len(x))
    x[y == 1, :10] += 150
    train = xe.dataset.NumpyDataset({"x": x[:193], "y": y[:193]})
    evaluation = xe.dataset.NumpyDataset({"x": x[193:], "y": y[193:]})
    test = evaluation.split(0.5, seed=1)
    pipeline = xe.Pipeline(train_data=train, eval_data=evaluation, test_data=test, batch_size=32, seed=0,
                           ops=[Normalize(inputs="x", outputs="x", mean=0.2, std=0.3)])
    model = xe.build(lambda: LeNet(input_shape=(20, 20, 3), classes=2),
                     lambda: keras.optimizers.SGD(learning_rate=0.05), strategy=get_strategy(distribute))
    network = xe.Network([ModelOp(model=model, inputs="x", outputs="y_pred"),
                          CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                          UpdateOp(model=model, loss_name="ce")])
    estimator = xe.Estimator(pipeline=pipeline, network=network, epochs=2, log_steps=0,
                             traces=[Accuracy(true_key="y", pred_key="y_pred")],
                             checkpoint_dir=tempfile.mkdtemp())
    return {"eval": plain(estimator.fit()), "test": plain(estimator.test()),
            "replicas": model.strategy.num_replicas_in_sync if model.strategy else 1,
            "weights": [np.asarray(v).tolist() for v in model.trainable_variables]}


def runner_run(distribute):
    """The configured experiment (Adam, cosine schedule, saliency, best-model saving)."""
    from xaiexp.app.cli import compose_config
    from xaiexp.app.tasks.build import build_experiment
    from xaiexp.app.tasks.train import train_and_test

    cfg = compose_config(["dataset.n_train=130", "dataset.n_eval=64", "epochs=2", "log_steps=0",
                          "explain.samples=2", "explain.smoothing=2", "explain.integrating=[3,2]",
                          "tracking.enabled=false", f"distribute={distribute}"])
    estimator, _ = build_experiment(cfg, tempfile.mkdtemp())
    return {key: plain(value) for key, value in train_and_test(estimator).items()}


def plain(logs):
    return {key: float(value) for key, value in logs.items() if np.ndim(value) == 0}


if __name__ == "__main__":
    results = {distribute: {"library": library_run(distribute), "runner": runner_run(distribute)}
               for distribute in ("none", "mirrored")}
    print(json.dumps(results))  # the last line of stdout, after the Estimator's console logs
