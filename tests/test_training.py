"""The training core on tiny data: Pipeline, Network, Estimator and the built-in traces."""

import re

import numpy as np
import pytest

import xaiexp as xe
from tests.support.tiny_estimator import make_estimator, separable
from xaiexp.architecture.tensorflow import CNN
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.schedule import cosine_decay
from xaiexp.trace import Trace
from xaiexp.trace.adapt import LRScheduler
from xaiexp.trace.io import BestModelSaver


N = r"[\d.e+-]+"  # a logged number


def test_fit_learns_and_test_reports(capsys):
    estimator, _ = make_estimator(epochs=3)
    eval_logs = estimator.fit()
    test_logs = estimator.test()
    assert eval_logs["accuracy"] > 0.9 and test_logs["accuracy"] > 0.9
    assert estimator.system.global_step == 3 * 6
    out = capsys.readouterr().out
    assert re.search(rf"^xaiexp-Train: step: 1; ce: {N};$", out, re.M)
    assert re.search(rf"^xaiexp-Train: step: 5; ce: {N}; steps/sec: {N};$", out, re.M)
    assert re.search(rf"^xaiexp-Eval: step: 6; epoch: 1; ce: {N}; accuracy: {N};$", out, re.M)
    assert re.search(rf"^xaiexp-Test: step: 18; epoch: 3; ce: {N}; accuracy: {N};$", out, re.M)
    assert re.search(rf"^xaiexp-Finish: step: 18; total_time: {N} sec;$", out, re.M)


def test_lr_is_set_every_step_and_logged(capsys):
    seen = []

    class Spy(Trace):
        def __init__(self, model):
            super().__init__(mode="train")
            self.model = model

        def on_batch_end(self, data):
            seen.append(float(self.model.optimizer.learning_rate.numpy()))

    lr_fn = lambda step: cosine_decay(step, cycle_length=4, init_lr=1e-2)  # noqa: E731
    estimator, _ = make_estimator(epochs=1, log_steps=5, traces=lambda model: [
        LRScheduler(model=model, lr_fn=lr_fn), Spy(model)])
    estimator.fit()
    assert seen == pytest.approx([np.float32(lr_fn(step)) for step in range(1, 7)])
    assert re.search(rf"^xaiexp-Train: step: 5; ce: {N}; model_lr: {N}; steps/sec",
                     capsys.readouterr().out, re.M)


def test_lr_fn_of_epoch_runs_per_epoch():
    estimator, model = make_estimator(epochs=2)
    scheduler = LRScheduler(model=model, lr_fn=lambda epoch: 0.1 * epoch)
    assert scheduler.per_epoch


def test_best_model_saver_keeps_the_best(tmp_path):
    import keras

    savers = []

    def with_saver(model):
        savers.append(BestModelSaver(model=model, save_dir=str(tmp_path), metric="accuracy", save_best_mode="max"))
        return savers

    estimator, model = make_estimator(epochs=2, traces=with_saver)
    estimator.fit()
    saver = savers[0]
    assert saver.model_path == str(tmp_path / "model_best_accuracy.keras")
    restored = keras.models.load_model(saver.model_path, safe_mode=True)
    assert restored.count_params() == model.count_params()
    assert saver.best > 0.5


def test_pipeline_batches_shuffle_reproducibly_and_get_results():
    x, y = separable(100)
    pipeline = xe.Pipeline(train_data=xe.dataset.NumpyDataset({"x": x, "y": y}), batch_size=32,
                           ops=[Normalize(inputs="x", outputs="x")], seed=3)
    first = [b["y"] for b in pipeline.batches("train", epoch=0)]
    again = [b["y"] for b in pipeline.batches("train", epoch=0)]
    other = [b["y"] for b in pipeline.batches("train", epoch=1)]
    assert [len(b) for b in first] == [32, 32, 32, 4]
    assert all((a == b).all() for a, b in zip(first, again))
    assert not all((a == b).all() for a, b in zip(first, other))
    pipeline.batch_size = 6
    batch = pipeline.get_results()
    assert batch["x"].shape == (6, 20, 20, 3) and batch["x"].dtype == np.float32
    np.testing.assert_array_equal(batch["y"], y[:6])


def test_dataset_split_moves_rows():
    data = xe.dataset.NumpyDataset({"x": np.arange(10), "y": np.arange(10)})
    part = data.split(0.3, seed=0)
    assert len(part) == 3 and len(data) == 7
    assert sorted([*part.data["x"], *data.data["x"]]) == list(range(10))
    with pytest.raises(ValueError, match="fraction"):
        data.split(1.5)


def test_normalize_matches_the_formula():
    op = Normalize(inputs="x", outputs="x")
    x = np.full((1, 2, 2, 3), 128, np.uint8)
    expected = (128 - np.array([0.485, 0.456, 0.406]) * 255) / (np.array([0.229, 0.224, 0.225]) * 255)
    np.testing.assert_allclose(op.forward(x, {})[0, 0, 0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="channel"):
        op.forward(np.zeros((1, 2, 2, 1)), {})


def test_stronger_cnn_trains():
    estimator, _ = make_estimator(epochs=4, model_fn=lambda: CNN(input_shape=(20, 20, 3), classes=2))
    assert estimator.fit()["accuracy"] > 0.8


def test_trace_order_follows_inputs_and_outputs():
    from xaiexp.estimator import sort_traces

    producer = Trace(outputs="fig")
    consumer = Trace(inputs="fig")
    assert sort_traces([consumer, producer]) == [producer, consumer]


def test_a_diverging_loss_stops_training_with_a_clear_error(capsys):
    import keras

    from xaiexp.network import TrainingDivergedError

    def explode(model):
        model.optimizer = keras.optimizers.SGD(learning_rate=1e9)
        model.optimizer.build(model.trainable_variables)
        return []

    estimator, model = make_estimator(epochs=1, traces=explode)
    with pytest.raises(TrainingDivergedError, match=r"loss 'ce' is NaN or infinite .* at step \d"):
        estimator.fit()
    assert estimator.system.global_step <= 3
    assert re.search(r"^xaiexp-Stopped: step: \d; reason: TrainingDivergedError", capsys.readouterr().out, re.M)


def test_fastestimator_step_names_cut_epochs_short():
    """FastEstimator's ``train_steps_per_epoch`` / ``eval_steps_per_epoch`` are xaiexp's
    ``max_*_steps_per_epoch``: a ported script runs unchanged; both at once must agree."""
    estimator, _ = make_estimator(epochs=2)
    ported = xe.Estimator(pipeline=estimator.pipeline, network=estimator.network, epochs=2,
                          train_steps_per_epoch=2, eval_steps_per_epoch=1)
    ported.fit()
    assert ported.system.global_step == 2 * 2 and ported._steps("eval") == ported._steps("test") == 1
    with pytest.raises(ValueError, match="max_train_steps_per_epoch=3 and train_steps_per_epoch=2"):
        xe.Estimator(pipeline=estimator.pipeline, network=estimator.network, epochs=1,
                     max_train_steps_per_epoch=3, train_steps_per_epoch=2)
