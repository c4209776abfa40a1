""""Is my model cheating?" on data that is not ours: the UCI handwritten digits (scikit-learn's
copy), upscaled to 48x48 RGB photos in sorted class folders, with a class-coded patch planted in
the training folder (and so in the eval images held out of it) and a clean test folder; a user's
own model from a module of their own; the decoy region given as a box over the patch."""

import sys

import mlflow
import numpy as np
import pytest

from tests.support import ROOT
from tests.support.cli import run_cli

sys.path.insert(0, str(ROOT / "examples"))
import decoy_digits  # noqa: E402

PATCH = (2, 2, 8, 8)  # the code's top, left, height, width in the model's 32x32 pixels


@pytest.fixture
def photos(tmp_path):
    """The README's folders (examples/decoy_digits.py): patched and clean training photos, a
    clean test folder, and the user's model module with its config."""
    decoy_digits.write_all(tmp_path)
    return tmp_path


BOX = ["decoy=box", *(f"decoy.{key}={value}" for key, value in
                    zip(("top", "left", "height", "width"), PATCH))]


def run_on(photos, train, *decoy):
    """A training run on ``train``'s photos with the clean test folder, the region ``decoy``."""
    return run_cli(f"--config-dir={photos}", f"name=digits_{train}", "dataset=folder",
                   f"dataset.path={photos / train}", f"dataset.test_path={photos / 'test'}",
                   "dataset.image_size=32", "dataset.eval_split=0.2", "model=digitnet",
                   "epochs=3", "log_steps=0", "explain.every=3", "explain.score_samples=100",
                   "explain.smoothing=8", "explain.integrating=[16,2]", *decoy, cwd=photos)


def the_run(home, name):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    return client, run


@pytest.mark.slow
def test_a_patch_the_model_learnt_is_caught_and_its_absence_is_cleared(home, photos):
    patched = run_on(photos, "patched", *BOX)
    assert patched.returncode == 0, patched.stderr[-3000:]
    client, run = the_run(home, "digits_patched")
    assert run.data.tags["xaiexp.shortcut"] == "relies on the shortcut", patched.stderr[-3000:]
    assert "RELIES ON THE SHORTCUT" in patched.stderr
    metrics = run.data.metrics
    for method in ("vanilla", "smoothgrad", "integrated"):
        lift = metrics[f"test/shortcut/{method}/decoy_pointing_game_lift"]
        assert lift >= 2, (method, lift)  # at least twice what a blind map scores: 1/16
    assert metrics["test/shortcut/accuracy_gap_ci_low"] > 0  # the clean test split drops
    # the probes of a folder read class by class show five classes, not the first one
    figure = np.load(client.download_artifacts(run.info.run_id, "saliency/eval_epoch_003.npz"))
    assert len(set(figure["y"])) == 5

    clean = run_on(photos, "clean", f"dataset.decoy_masks={photos / 'corner'}",  # masks this time
                   f"dataset.test_decoy_masks={photos / 'test_corner'}")
    assert clean.returncode == 0, clean.stderr[-3000:]
    _, run = the_run(home, "digits_clean")
    assert run.data.tags["xaiexp.shortcut"] == "does not rely on it", clean.stderr[-3000:]
    assert run.data.metrics["test/shortcut/accuracy_gap_ci_low"] < 0  # no drop to speak of


@pytest.mark.slow
def test_an_untrained_model_cannot_be_judged(home, photos, monkeypatch):
    """A model trained for 0 steps (the user's own, saved as it was built) explained with
    ``xaiexp explain``: at chance, so the verdict is "cannot tell" whatever its maps show. The
    decoy region is the user's own function, named by a config of theirs."""
    import keras

    monkeypatch.syspath_prepend(str(photos))
    import digitnet

    keras.utils.set_random_seed(0)
    untrained = digitnet.build((32, 32, 3), 10)
    untrained.save(photos / "untrained.keras")
    (photos / "corner.py").write_text(
        "import numpy as np\n\n\ndef top_left(images, labels, side=8):\n"
        "    masks = np.zeros((*np.shape(images)[:3], 1), np.uint8)\n"
        "    masks[:, 2:2 + side, 2:2 + side] = 1\n    return masks\n")
    (photos / "decoy").mkdir()
    (photos / "decoy" / "corner.yaml").write_text("_target_: corner.top_left\n_partial_: true\n")
    result = run_cli("explain", f"--config-dir={photos}", "name=digits_untrained", "dataset=folder",
                     f"dataset.path={photos / 'patched'}", "dataset.image_size=32", "model=saved",
                     f"model.path={photos / 'untrained.keras'}", "explain.score_samples=60",
                     "explain.methods=[vanilla]", "decoy=corner", cwd=photos)
    assert result.returncode == 0, result.stderr[-3000:]
    _, run = the_run(home, "digits_untrained")
    assert run.data.tags["xaiexp.shortcut"] == "cannot tell"
    assert "not shown to beat chance" in run.data.tags["xaiexp.shortcut_reason"]
    assert "CANNOT TELL" in result.stderr and "decoy pointing game" in result.stderr
