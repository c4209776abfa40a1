"""A user's own image folder, from the command line: streamed, trained on, explained; and its
flaws named in one line before TensorFlow starts."""

import mlflow
import numpy as np
import pytest
from PIL import Image

from conftest import TINY, run_cli

CLASSES = ("cat", "dog", "fox")


@pytest.fixture
def photos(tmp_path):
    """12 images a class, JPEG and PNG of mixed sizes, with PNG object masks mirroring them."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(CLASSES):
        for index in range(12):
            height, width = rng.integers(24, 80, size=2)
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            pixels[..., label] = 255  # a class-coloured tint: something to learn
            mask = np.zeros((height, width), np.uint8)
            mask[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = 255
            suffix = ".jpg" if index % 2 else ".png"
            for root, image in (("photos", Image.fromarray(pixels)), ("masks", Image.fromarray(mask))):
                (tmp_path / root / name).mkdir(parents=True, exist_ok=True)
                image.save(tmp_path / root / name / f"{index}{suffix if root == 'photos' else '.png'}")
    return tmp_path


def folder_args(photos):
    return ["dataset=folder", f"dataset.path={photos / 'photos'}", f"dataset.masks={photos / 'masks'}",
            "dataset.image_size=32", "dataset.eval_split=0.3"]


@pytest.mark.slow
def test_a_folder_trains_and_is_explained_against_its_masks(photos, home):
    result = run_cli(*folder_args(photos), *TINY[2:], "batch_size=8")
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert 0 <= run.data.metrics["test/xai/saliency/relevance_mass"] <= 1
    assert "test/xai/smint_saliency/pointing_game" in run.data.metrics
    assert run.data.params["dataset.path"] == str(photos / "photos")


def break_one_image(photos):
    (photos / "photos" / "dog" / "3.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return "dataset.path: " + str(photos / "photos" / "dog" / "3.jpg")


def empty_one_class(photos):
    for path in (photos / "photos" / "fox").iterdir():
        path.unlink()
    return str(photos / "photos" / "fox")


def lose_one_mask(photos):
    (photos / "masks" / "cat" / "5.png").unlink()
    return str(photos / "photos" / "cat" / "5.jpg")


@pytest.mark.parametrize("spoil", [break_one_image, empty_one_class, lose_one_mask])
def test_a_flawed_folder_is_one_line_naming_the_file_before_any_run(photos, home, spoil):
    named = spoil(photos)
    result = run_cli(*folder_args(photos))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("xaiexp: error: dataset.") and named in lines[0]
    assert not (home / "outputs" / "mlflow.db").exists()
