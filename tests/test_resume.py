"""Checkpoints: an interrupted fit() resumes to exactly the uninterrupted result."""

import os
import signal

import keras
import pytest
import tensorflow as tf

from tests.support.tiny_estimator import make_estimator
from xaiexp.architecture.tensorflow import CNN
from xaiexp.checkpoint import Checkpoint
from xaiexp.trace import Trace
from xaiexp.trace.io import BestModelSaver


class SignalAt(Trace):
    """Sends the process a real signal at a given training step, like Ctrl-C would."""

    def __init__(self, step, signum):
        super().__init__(mode="train")
        self.step, self.signum = step, signum

    def on_batch_end(self, data):
        if self.system.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def fit(checkpoint_dir=None, stop_at=None, signum=signal.SIGINT, resume=False, saver_dir=None):
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    savers = []

    def traces(model):
        if saver_dir:
            savers.append(BestModelSaver(model=model, save_dir=saver_dir, metric="accuracy", save_best_mode="max"))
        return [*savers, *([SignalAt(stop_at, signum)] if stop_at else [])]

    estimator, model = make_estimator(epochs=3, traces=traces, checkpoint_dir=checkpoint_dir,
                                      model_fn=lambda: CNN(input_shape=(20, 20, 3), classes=2))
    return estimator, estimator.fit(resume=resume), model, savers


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_checkpoints_and_resume_matches_an_uninterrupted_fit(tmp_path, signum):
    _, expected, reference, _ = fit()
    with pytest.raises(KeyboardInterrupt, match=signal.Signals(signum).name):
        fit(tmp_path, stop_at=8, signum=signum)  # mid second epoch (6 steps per epoch)
    assert Checkpoint(str(tmp_path)).exists()
    estimator, resumed, model, _ = fit(tmp_path, resume=True)
    assert estimator.system.global_step == 18
    assert resumed == expected
    for ours, theirs in zip(model.get_weights(), reference.get_weights()):
        assert (ours == theirs).all()


def test_trace_state_survives_a_resume(tmp_path):
    _, _, _, (uninterrupted,) = fit(saver_dir=str(tmp_path / "reference"))
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "ckpt", stop_at=14, saver_dir=str(tmp_path / "best"))  # in epoch 3
    _, _, _, (resumed,) = fit(tmp_path / "ckpt", resume=True, saver_dir=str(tmp_path / "best"))
    assert resumed.state_dict() == uninterrupted.state_dict()


def test_handlers_are_restored_after_fit():
    before = signal.getsignal(signal.SIGINT)
    fit()
    assert signal.getsignal(signal.SIGINT) is before
