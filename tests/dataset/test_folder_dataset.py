"""Image folders streamed from disk: decoding against Pillow and Keras, checks, Pipeline, training."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import xaiexp as xe
from xaiexp.dataset import FileDataset, NumpyDataset
from xaiexp.dataset.data import folder
from xaiexp.dataset.data.errors import DatasetFormatError
from xaiexp.op.numpyop.univariate import Normalize


def save(path, array, mode=None, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(array, np.uint8))
    (image.convert(mode) if mode else image).save(path, **options)
    return path


def noise(rng, height, width, channels=3):
    """Smooth random pixels (JPEG keeps them close), (H, W, C) uint8."""
    coarse = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, channels), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse.squeeze()).resize((width, height), Image.BILINEAR))


@pytest.fixture
def photos(tmp_path):
    """Two classes of JPEG, PNG (RGB, grayscale, RGBA, palette), BMP and GIF files of mixed sizes,
    plus files and folders the loader must ignore."""
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for name in ("dog", "cat"):
        for index, (ext, mode) in enumerate([("jpg", None), ("png", None), ("png", "L"), ("png", "RGBA"),
                                             ("jpeg", None), ("png", "P"), ("bmp", None), ("gif", None)]):
            save(root / name / f"{name}{index}.{ext}", noise(rng, *rng.integers(20, 60, 2)), mode)
    save(root / "cat" / "nested" / "deep.png", noise(rng, 30, 25))
    (root / "cat" / "notes.txt").write_text("not an image")
    save(root / ".hidden" / "x.png", noise(rng, 10, 10))
    return root


def decoded(datasets, batch_size=5):
    """{path: (x, y)} of every sample, decoded through a Pipeline."""
    samples = {}
    for dataset in datasets:
        pipeline = xe.Pipeline(eval_data=dataset, batch_size=batch_size)
        paths = iter(dataset.columns["x"])
        for batch in pipeline.batches("eval"):
            samples.update((next(paths), (x, y)) for x, y in zip(batch["x"], batch["y"]))
    return samples


def test_decoding_matches_keras_image_dataset_from_directory(photos):
    import keras

    train, evaluation = folder.load_data(photos, image_size=(24, 20), eval_split=3, seed=1)
    assert (len(train), len(evaluation)) == (14, 3) and train.label_mapping == {"cat": 0, "dog": 1}
    assert train.keys == ("x", "y") and train.shape("x") == (24, 20, 3) and train.shape("y") == ()
    ours = decoded([train, evaluation])
    reference = keras.utils.image_dataset_from_directory(photos, image_size=(24, 20), batch_size=None,
                                                         shuffle=False)
    assert reference.class_names == ["cat", "dog"]
    assert sorted(ours) == sorted(reference.file_paths)
    for path, (x, y) in zip(reference.file_paths, reference.as_numpy_iterator()):
        assert ours[path][0].dtype == np.float32 and ours[path][1] == y
        np.testing.assert_allclose(ours[path][0], x, atol=1e-3, err_msg=path)


def test_pixels_match_pillow_at_the_stored_size_and_upscaled(tmp_path):
    rng = np.random.default_rng(1)
    files = [save(tmp_path / "ab"[index % 2] / f"{mode}.png", noise(rng, 12, 16), mode)
             for index, mode in enumerate(("RGB", "L", "RGBA", "P"))]
    for size, tolerance in (((12, 16), 0), ((36, 48), 1.0)):
        train, evaluation = folder.load_data(tmp_path, image_size=size, eval_split=1)
        samples = decoded([train, evaluation])
        for file in files:
            rgb = Image.open(file).convert("RGB")
            expected = np.asarray(rgb.resize(size[::-1], Image.BILINEAR) if tolerance else rgb, np.float32)
            x = samples[str(file)][0]
            assert x.shape == (*size, 3)
            # Pillow's bilinear weights differ from TensorFlow's only at the borders
            assert np.abs(x - expected)[2:-2, 2:-2].max() <= tolerance, file.name


def test_masks_and_decoy_masks_decode_to_nearest_resized_zero_one(tmp_path):
    rng = np.random.default_rng(2)
    images, masks, decoys = tmp_path / "images", tmp_path / "masks", tmp_path / "decoys"
    for index in range(6):
        label = "ab"[index % 2]
        save(images / label / f"{index}.jpg", noise(rng, 20, 30))
        for root in (masks, decoys):
            mask = np.zeros((20, 30, 3), np.uint8)
            mask[rng.integers(0, 10):15, 5:rng.integers(10, 30)] = (200, 0, 0) if index % 3 else (0, 0, 1)
            save(root / label / f"{index}.png", mask)
    train, _ = folder.load_data(images, image_size=(10, 15), masks=masks, decoy_masks=decoys, eval_split=1)
    assert train.keys == ("x", "y", "mask", "decoy_mask") and train.shape("decoy_mask") == (10, 15, 1)
    assert train.stored_size == (20, 30)
    batch = xe.Pipeline(train_data=train, batch_size=8).get_results()
    for key, root in (("mask", masks), ("decoy_mask", decoys)):
        assert all(str(path).startswith(str(root)) for path in train.columns[key])
        for path, mask in zip(train.columns[key], batch[key]):
            stored = np.asarray(Image.open(path).convert("RGB")).max(axis=-1) > 0
            expected = np.asarray(Image.fromarray(stored).resize((15, 10), Image.NEAREST), np.float32)
            np.testing.assert_array_equal(mask[..., 0], expected)


def test_split_moves_the_same_rows_as_numpy_dataset():
    files = FileDataset([f"{i}.png" for i in range(20)], np.arange(20) % 3, 8, {"a": 0, "b": 1, "c": 2})
    rows = NumpyDataset({"i": np.arange(20)})
    parts, reference = files.split(0.25, 3, seed=7), rows.split(0.25, 3, seed=7)
    for part, expected in zip(parts, reference):
        assert list(part.columns["x"]) == [f"{i}.png" for i in expected.data["i"]]
        assert part.label_mapping == files.label_mapping and part.image_size == (8, 8)
    assert list(files.columns["x"]) == [f"{i}.png" for i in rows.data["i"]] and len(files) == 12
    with pytest.raises(ValueError, match="fraction"):
        files.split(1.5)


def test_numpy_dataset_keys_and_shape():
    data = NumpyDataset({"x": np.zeros((4, 5, 6, 3)), "y": np.zeros(4)})
    assert data.keys == ("x", "y") and data.shape("x") == (5, 6, 3) and data.shape("y") == ()


def test_streamed_batches_follow_the_in_memory_order_and_resume(photos):
    train, _ = folder.load_data(photos, image_size=16, eval_split=1)
    ops = [Normalize(inputs="x", outputs="x", mean=0.3, std=0.2)]
    streamed = xe.Pipeline(train_data=train, batch_size=4, ops=ops, seed=5)
    raw = xe.Pipeline(train_data=train, batch_size=len(train)).get_results()
    memory = xe.Pipeline(train_data=NumpyDataset(raw), batch_size=4, ops=ops, seed=5)
    for epoch in (0, 1):
        for ours, theirs in zip(streamed.batches("train", epoch), memory.batches("train", epoch), strict=True):
            np.testing.assert_array_equal(ours["y"], theirs["y"])
            np.testing.assert_allclose(ours["x"], theirs["x"], rtol=1e-6, atol=1e-6)
    resumed = iter(streamed.get_loader("train", first_epoch=1, skip=2))  # as after a resume
    expected = [*list(memory.batches("train", 1))[2:], *memory.batches("train", 2)]
    for theirs in expected:
        ours = next(resumed)
        np.testing.assert_array_equal(ours["y"].numpy(), theirs["y"])
        np.testing.assert_allclose(ours["x"].numpy(), theirs["x"], rtol=1e-6, atol=1e-6)
    assert streamed.steps_per_epoch("train") == 4


def broken(tmp_path, case):
    """A folder with one problem; returns (load_data arguments, the file the error must name)."""
    rng = np.random.default_rng(3)
    root = tmp_path / "data"
    for name in ("a", "b"):
        for index in range(3):
            save(root / name / f"{index}.jpg", noise(rng, 20, 24))
    args = {"path": root}
    if case == "corrupt":
        (root / "a" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(200))
        return args, root / "a" / "bad.png"
    if case == "truncated jpeg":
        data = (root / "b" / "1.jpg").read_bytes()
        (root / "b" / "1.jpg").write_bytes(data[: len(data) // 2])
        return args, root / "b" / "1.jpg"
    if case == "truncated png":
        data = save(root / "b" / "t.png", noise(rng, 40, 40)).read_bytes()
        (root / "b" / "t.png").write_bytes(data[: len(data) - 100])
        return args, root / "b" / "t.png"
    if case == "webp named jpg":
        save(root / "a" / "w.jpg", noise(rng, 20, 20), format="WEBP")
        return args, root / "a" / "w.jpg"
    if case == "empty class":
        (root / "c").mkdir()
        (root / "c" / "readme.txt").write_text("")
        return args, root / "c"
    if case == "no classes":
        empty = tmp_path / "flat"
        save(empty / "0.png", noise(rng, 8, 8))
        return {"path": empty}, empty
    if case == "one class":
        save(tmp_path / "single" / "a" / "0.png", noise(rng, 8, 8))
        save(tmp_path / "single" / "a" / "1.png", noise(rng, 8, 8))
        return {"path": tmp_path / "single"}, tmp_path / "single"
    if case in LINKS:  # (where, to what)
        where, target = LINKS[case]
        if case == "hard link":
            (root / where).hardlink_to(root / target)
        else:
            (root / where).symlink_to(target)
        return args, root / where
    if case == "eval folder links to train's":
        (tmp_path / "eval").mkdir()
        (tmp_path / "eval" / "a").symlink_to(root / "a")
        save(tmp_path / "eval" / "b" / "0.png", noise(rng, 8, 8))
        return {**args, "eval_path": tmp_path / "eval"}, tmp_path / "eval" / "a"
    if case == "eval classes differ":
        save(tmp_path / "eval" / "a" / "0.png", noise(rng, 8, 8))
        save(tmp_path / "eval" / "z" / "0.png", noise(rng, 8, 8))
        return {**args, "eval_path": tmp_path / "eval"}, tmp_path / "eval"
    kind = "decoy_masks" if "decoy" in case else "masks"  # both kinds are checked alike
    masks = blank_masks(tmp_path / kind)
    args, case = {**args, kind: masks}, case.replace("decoy ", "")
    if case == "image without mask":
        (masks / "b" / "1.png").unlink()
        return args, root / "b" / "1.jpg"
    if case == "mask without image":
        save(masks / "a" / "7.gif", np.zeros((20, 24)))
        return args, masks / "a" / "7.gif"
    if case == "mask of another size":
        save(masks / "a" / "2.png", np.zeros((24, 20)))
        return args, masks / "a" / "2.png"
    if case == "test masks without test_path":
        (tmp_path / "test_masks").mkdir()
        return {**args, "test_masks": tmp_path / "test_masks"}, tmp_path / "test_masks"
    assert case == "masks for train only"
    for name in ("a", "b"):
        save(tmp_path / "eval" / name / "0.png", noise(rng, 8, 8))
    return {**args, "eval_path": tmp_path / "eval"}, tmp_path / "eval"


def blank_masks(root):
    """Empty masks mirroring the folder of ``broken``."""
    for name in ("a", "b"):
        for index in range(3):
            save(root / name / f"{index}.png", np.zeros((20, 24)))
    return root


# links that would read a folder or an image twice: (the link, relative to the data folder, and
# what it points at; a symbolic link's target is relative to its own folder)
LINKS = {"link to its parent folder": ("a/up", ".."), "link to its own folder": ("a/again", "."),
         "link to the folder above the data": ("b/top", "../.."), "link to a sibling folder": ("b/twin", "../a"),
         "link to an image of another class": ("b/9.jpg", "../a/0.jpg"), "hard link": ("b/8.jpg", "a/1.jpg")}
CASES = ["corrupt", "truncated jpeg", "truncated png", "webp named jpg", "empty class", "no classes",
         "one class", "eval classes differ", "image without mask", "mask without image",
         "mask of another size", "masks for train only", "test masks without test_path",
         "image without decoy mask", "decoy mask without image", "decoy mask of another size",
         "decoy masks for train only", *LINKS, "eval folder links to train's"]


@pytest.mark.parametrize("case", CASES)
def test_each_problem_is_one_line_naming_the_file(tmp_path, case):
    args, culprit = broken(tmp_path, case)
    with pytest.raises(DatasetFormatError) as error:
        folder.inspect(**args, image_size=16)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{culprit}:"), message
    assert ("decoy" in message) == ("decoy" in case), message


def test_links_without_loops_or_second_names_are_followed(tmp_path):
    """A link to an image elsewhere and one to a folder of other images count once each; the same
    folder tree read with os.walk gives the same images."""
    args, _ = broken(tmp_path, "corrupt")
    (args["path"] / "a" / "bad.png").unlink()
    rng = np.random.default_rng(4)
    elsewhere = tmp_path / "elsewhere"
    save(elsewhere / "one.png", noise(rng, 20, 24))
    for index in range(2):
        save(elsewhere / "more" / f"{index}.png", noise(rng, 20, 24))
    (args["path"] / "a" / "one.png").symlink_to(elsewhere / "one.png")
    (args["path"] / "b" / "more").symlink_to(elsewhere / "more")
    train, evaluation = folder.load_data(**args, image_size=16, eval_split=2)
    paths = sorted([*train.columns["x"], *evaluation.columns["x"]])
    walked = sorted(os.path.join(parent, name) for parent, _, files in os.walk(args["path"], followlinks=True)
                    for name in files)
    assert paths == walked and len(paths) == 3 + 3 + 1 + 2


def test_load_data_makes_the_same_checks(tmp_path):
    args, culprit = broken(tmp_path, "truncated jpeg")
    with pytest.raises(DatasetFormatError, match=f"^{culprit}: corrupt or truncated"):
        folder.load_data(**args)


def test_inspect_needs_no_tensorflow_and_expands_home(photos, tmp_path):
    script = ("import json, sys; from xaiexp.dataset.data import folder; "
              "s = folder.inspect('~/photos', image_size=(30, 40)); "
              "print(json.dumps([s.class_names, s.image_shape, 'tensorflow' in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert json.loads(result.stdout) == [["cat", "dog"], [30, 40, 3], False]


def separable_folder(root, count, rng):
    """Class "bright" images have a bright top half; PNGs of 20-40 px."""
    for index in range(count):
        label = index % 2
        height, width = rng.integers(20, 41, 2)
        x = rng.integers(0, 100, (height, width, 3))
        x[: height // 2] += 150 * label
        save(root / ("bright" if label else "dark") / f"{index}.png", x)


@pytest.mark.slow
def test_lenet_trains_on_a_folder(tmp_path):
    from xaiexp.architecture.tensorflow import LeNet
    from xaiexp.op.tensorop.loss import CrossEntropy
    from xaiexp.op.tensorop.model import ModelOp, UpdateOp
    from xaiexp.trace.metric import Accuracy

    rng = np.random.default_rng(4)
    separable_folder(tmp_path / "train", 192, rng)
    separable_folder(tmp_path / "test", 64, rng)
    train, evaluation, test = folder.load_data(tmp_path / "train", image_size=20, test_path=tmp_path / "test",
                                               eval_split=0.25, seed=0)
    assert (len(train), len(evaluation), len(test)) == (144, 48, 64)
    pipeline = xe.Pipeline(train_data=train, eval_data=evaluation, test_data=test, batch_size=16,
                           ops=[Normalize(inputs="x", outputs="x", mean=0.2, std=0.3)], seed=0)
    model = xe.build(lambda: LeNet(input_shape=train.shape("x"), classes=len(train.label_mapping)), "adam")
    network = xe.Network(ops=[ModelOp(model=model, inputs="x", outputs="y_pred"),
                              CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                              UpdateOp(model=model, loss_name="ce")])
    estimator = xe.Estimator(pipeline=pipeline, network=network, epochs=3, log_steps=0,
                             traces=[Accuracy(true_key="y", pred_key="y_pred")])
    assert estimator.fit()["accuracy"] > 0.9
    assert estimator.test()["accuracy"] > 0.9
