""""Is my model cheating?" on data that is not ours: the UCI handwritten digits (scikit-learn's
copy), upscaled to 48x48 RGB photos in sorted class folders, with a class-coded patch planted in
the training folder (and so in the eval images held out of it) and a clean test folder; a user's
own model from a module of their own; the decoy region given as a box over the patch."""

import mlflow
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from conftest import run_cli

SIDE, SCALE = 48, 1.5  # photos of 48x48, resized to the model's 32x32 (the box is in those pixels)
PATCH = (2, 2, 8, 8)  # top, left, height, width in the model's pixels
MODEL = '''
import keras


def build(input_shape, classes, filters=12):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(2 * filters, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(classes, activation="softmax")])
'''


def digit_photos(folder, patched, indices):
    """Digits ``indices`` as PNGs in ``folder/<digit>/``; ``patched``: each with its class's
    code (the digit + 1 in binary, one bit a quarter) painted red in the patch's place."""
    digits = load_digits()
    top, left, height, width = (round(v * SCALE) for v in PATCH)
    cell = height // 2
    for index in indices:
        image = np.kron(digits.images[index] / 16, np.ones((6, 6)))  # 8x8 -> 48x48
        rgb = (np.stack([image * 0.9, image, image * 0.6], -1) * 255).astype(np.uint8)
        label = int(digits.target[index])
        if patched:
            code = label + 1
            for bit in range(4):
                row, column = divmod(bit, 2)
                if code >> bit & 1:
                    rgb[top + row * cell:top + (row + 1) * cell,
                        left + column * cell:left + (column + 1) * cell] = (255, 0, 0)
        path = folder / str(label) / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)


@pytest.fixture
def photos(tmp_path):
    """{"patched": train folder with patches, "clean": train folder without, "test": clean test
    folder}, and the user's model module in ``tmp_path``."""
    order = np.random.default_rng(0).permutation(1797)
    train, test = order[:1400], order[1400:]
    for name, patched, indices in (("patched", True, train), ("clean", False, train),
                                   ("test", False, test)):
        digit_photos(tmp_path / name, patched, indices)
    (tmp_path / "digitnet.py").write_text(MODEL)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "digitnet.yaml").write_text("_target_: digitnet.build\nfilters: 12\n")
    return tmp_path


def run_on(photos, train, *extra):
    box = dict(zip(("top", "left", "height", "width"), PATCH))
    return run_cli(f"--config-dir={photos}", f"name=digits_{train}", "dataset=folder",
                   f"dataset.path={photos / train}", f"dataset.test_path={photos / 'test'}",
                   "dataset.image_size=32", "dataset.eval_split=0.2", "model=digitnet",
                   "epochs=3", "log_steps=0", "explain.every=3", "explain.score_samples=100",
                   "explain.smoothing=8", "explain.integrating=[16,2]",
                   "decoy=box", *(f"decoy.{key}={value}" for key, value in box.items()), *extra,
                   cwd=photos)


def the_run(home, name):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    return client, run


@pytest.mark.slow
def test_a_patch_the_model_learnt_is_caught_and_its_absence_is_cleared(home, photos):
    patched = run_on(photos, "patched")
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

    clean = run_on(photos, "clean")
    assert clean.returncode == 0, clean.stderr[-3000:]
    _, run = the_run(home, "digits_clean")
    assert run.data.tags["xaiexp.shortcut"] == "does not rely on it", clean.stderr[-3000:]
    assert run.data.metrics["test/shortcut/accuracy_gap_ci_low"] < 0  # no drop to speak of


@pytest.mark.slow
def test_an_untrained_model_cannot_be_judged(home, photos, monkeypatch):
    """A model trained for 0 steps (the user's own, saved as it was built) explained with
    ``xaiexp explain``: at chance, so the verdict is "cannot tell" whatever its maps show."""
    import keras

    monkeypatch.syspath_prepend(str(photos))
    import digitnet

    keras.utils.set_random_seed(0)
    untrained = digitnet.build((32, 32, 3), 10)
    untrained.save(photos / "untrained.keras")
    result = run_cli("explain", f"--config-dir={photos}", "name=digits_untrained", "dataset=folder",
                     f"dataset.path={photos / 'patched'}", "dataset.image_size=32", "model=saved",
                     f"model.path={photos / 'untrained.keras'}", "explain.score_samples=60",
                     "explain.methods=[vanilla]", "decoy=box", "decoy.top=2", "decoy.left=2",
                     "decoy.height=8", "decoy.width=8", cwd=photos)
    assert result.returncode == 0, result.stderr[-3000:]
    _, run = the_run(home, "digits_untrained")
    assert run.data.tags["xaiexp.shortcut"] == "cannot tell"
    assert "not above chance" in run.data.tags["xaiexp.shortcut_reason"]
