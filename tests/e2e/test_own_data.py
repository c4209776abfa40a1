"""A user's own image folder, from the command line: streamed, trained on, explained; and its
flaws named in one line before TensorFlow starts."""

import math
import mlflow
import numpy as np
import pytest
from PIL import Image

from tests.support.cli import TINY, run_cli
from xaiexp.app.cli import compose_config

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


def split_folders(root):
    """photos/, eval/, test/ of 24x24 PNGs (3 classes) with masks/, eval_masks/, test_masks/ and
    decoys/, eval_decoys/, test_decoys/. Every eval mask and test decoy mask covers the whole
    image, every eval decoy mask nothing: the scores then say which masks each split read."""
    rng = np.random.default_rng(1)
    box = np.zeros((24, 24), np.uint8)
    box[6:18, 6:18] = 255
    full, empty = np.full((24, 24), 255, np.uint8), np.zeros((24, 24), np.uint8)
    splits = {"": (12, box, box), "eval_": (3, full, empty), "test_": (3, box, full)}
    for prefix, (count, mask, decoy) in splits.items():
        for label, name in enumerate(CLASSES):
            for index in range(count):
                pixels = rng.integers(0, 150, (24, 24, 3), dtype=np.uint8)
                pixels[6:18, 6:18, label] = 255
                for folder, image in ((prefix + "photos", pixels), (prefix + "masks", mask),
                                      (prefix + "decoys", decoy)):
                    (root / folder / name).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(image).save(root / folder / name / f"{index}.png")
    keys = {"path": "photos", "eval_path": "eval_photos", "test_path": "test_photos", "masks": "masks",
            "eval_masks": "eval_masks", "test_masks": "test_masks", "decoy_masks": "decoys",
            "eval_decoy_masks": "eval_decoys", "test_decoy_masks": "test_decoys"}
    return [f"dataset.{key}={root / folder}" for key, folder in keys.items()]


@pytest.mark.slow
def test_eval_and_test_folders_are_scored_against_their_own_masks_and_decoy_masks(tmp_path, home):
    result = run_cli("dataset=folder", *split_folders(tmp_path), "dataset.image_size=24", *TINY[2:],
                     "batch_size=8", "explain.methods=[vanilla,occlusion]")
    assert result.returncode == 0, result.stderr[-3000:]
    (data,) = [line for line in result.stderr.splitlines() if line.startswith("xaiexp: data: folder ")]
    assert data.endswith("/photos: 3 classes (…), 24×24×3, train 36 · eval 9 · test 9") and len(data) == 100, data
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = run.data.metrics
    for method in ("saliency", "occlusion_saliency"):
        assert metrics[f"eval/xai/{method}/relevance_mass"] == 1  # eval masks: the whole image
        assert math.isnan(metrics[f"eval/xai/{method}/decoy_mass"])  # eval decoy masks: nothing
        assert metrics[f"eval/xai/{method}/decoy_mass_n"] == 0  # (a share of an empty mask)
        assert metrics[f"test/xai/{method}/decoy_mass"] == 1
        assert 0 < metrics[f"test/xai/{method}/relevance_mass"] < 1


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


def small_photos(root, size):
    """Two classes of five PNGs of ``size`` (H, W)."""
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for index in range(5):
            Image.fromarray(np.zeros((*size, 3), np.uint8)).save(root / name / f"{index}.png")
    return root


@pytest.mark.parametrize("stored, image_size, warned", [
    ((64, 64), None, "dataset.image_size: 224×224 resizes the images of {path} (median 64×64) 3.5× up"),
    ((200, 300), 32, "dataset.image_size: 32×32 resizes the images of {path} (median 200×300) 9.38× down"),
    ((48, 40), 64, None),
    ((40, 60), 32, None),
])
def test_an_image_size_far_from_the_images_own_is_warned_in_one_line(tmp_path, capsys, stored, image_size,
                                                                      warned):
    path = small_photos(tmp_path / "photos", stored)
    chosen = [] if image_size is None else [f"dataset.image_size={image_size}"]
    compose_config(["dataset=folder", f"dataset.path={path}", "model=cnn", *chosen])
    lines = capsys.readouterr().err.splitlines()
    if warned is None:
        assert not lines
        return
    assert len(lines) == 1 and lines[0].startswith("xaiexp: warning: " + warned.format(path=path)), lines
    compose_config(["dataset=folder", f"dataset.path={path}", "model=cnn", *chosen])
    assert not capsys.readouterr().err  # once a process: a sweep checks each job's config


@pytest.mark.parametrize("path, names, expected", [
    ("~/digits", list("0123456789"),
     "folder ~/digits: 10 classes (0, …), 64×64 → 32×32×3, train 1440 · eval 180 · test 180"),
    ("pets", ["cat", "dog", "fox"],
     "folder pets: 3 classes (cat, …), 64×64 → 32×32×3, train 1440 · eval 180 · test 180"),
    ("/" + "deep/" * 30 + "pets", ["cat", "dog", "fox"],
     "folder …ep/deep/pets: 3 classes (…), 64×64 → 32×32×3, train 1440 · eval 180 · test 180"),
    ("p", ["a", "b"], "folder p: 2 classes (a, b), 64×64 → 32×32×3, train 1440 · eval 180 · test 180"),
])
def test_the_data_line_fits_100_columns_cutting_names_then_the_path(path, names, expected):
    from omegaconf import OmegaConf

    from xaiexp.app.tasks.data_line import PREFIX, describe_data
    from xaiexp.dataset import FileDataset

    mapping = {name: label for label, name in enumerate(names)}
    splits = [FileDataset([f"{i}.png" for i in range(rows)], np.arange(rows) % len(names), 32, mapping,
                          stored_size=(64, 64)) for rows in (1440, 180, 180)]
    node = OmegaConf.create({"_target_": "xaiexp.dataset.data.folder.load_data", "path": path})
    line = PREFIX + describe_data(node, *splits)
    assert line == "xaiexp: data: " + expected and len(line) <= 100
