"""A TensorFlow Datasets dataset prepared locally (never downloaded), loaded and inspected."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from xaiexp.dataset.data import tfds as tfds_data
from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError

tfds = pytest.importorskip("tensorflow_datasets")


def images(split):
    """The builder's examples, made again from the same seeds: (H, W, 3) uint8 images, labels."""
    rng = np.random.default_rng(len(split))
    return [(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), index % 3) for index in range(6 + len(split))]


class TinyPets(tfds.core.GeneratorBasedBuilder):
    """Three classes of 12x10 images."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "picture": tfds.features.Image(shape=(12, 10, 3)),
            "label": tfds.features.ClassLabel(names=["cat", "dog", "emu"])}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples("train"), "test": self._generate_examples("test")}

    def _generate_examples(self, split):
        for index, (image, label) in enumerate(images(split)):
            yield index, {"picture": image, "label": label}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfds")
    TinyPets(data_dir=str(root)).download_and_prepare()
    return root


def test_load_data_reads_the_records_in_memory(data_dir):
    import tensorflow as tf

    train, evaluation = tfds_data.load_data("tiny_pets", data_dir=data_dir, image_size=(6, 5),
                                            train_split="train[:6]", eval_split="train[6:]+test",
                                            image_key="picture")
    assert train.label_mapping == {"cat": 0, "dog": 1, "emu": 2}
    assert (len(train), len(evaluation)) == (6, 5 + 10) and train.shape("x") == (6, 5, 3)
    assert train.data["x"].dtype == np.float32 and train.data["y"].dtype == np.int64
    resized = {tf.image.resize(image, (6, 5)).numpy().tobytes(): label
               for split in ("train", "test") for image, label in images(split)}
    for dataset in (train, evaluation):
        assert [resized[x.tobytes()] for x in dataset.data["x"]] == dataset.data["y"].tolist()


def test_same_size_images_load_as_stored(data_dir):
    train, _ = tfds_data.load_data("tiny_pets:1.0.0", data_dir=data_dir, eval_split="train[:2]",
                                            image_key="picture")
    stored = {image.tobytes(): label for image, label in images("train")}
    assert train.data["x"].dtype == np.uint8 and train.shape("x") == (12, 10, 3)
    assert sorted(stored[x.tobytes()] for x in train.data["x"]) == sorted(train.data["y"].tolist())


def test_inspect_reads_only_metadata_without_tensorflow(data_dir):
    script = ("import json, sys; from xaiexp.dataset.data import tfds; "
              f"s = tfds.inspect('tiny_pets', data_dir={str(data_dir)!r}, image_size=32, image_key='picture'); "
              "print(json.dumps([s.class_names, s.image_shape, 'tensorflow' in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [["cat", "dog", "emu"], [32, 32, 3], False]


@pytest.mark.parametrize("args, error, culprit", [
    ({"name": "nothing_here", "image_key": "picture"}, DatasetNotFoundError, "nothing_here"),
    ({"name": "tiny_pets:9.9.9", "image_key": "picture"}, DatasetNotFoundError, "tiny_pets/9.9.9"),
    ({"name": "tiny_pets", "image_key": "picture", "eval_split": "validation"}, DatasetFormatError,
     "dataset_info.json: no split 'validation'"),
    ({"name": "tiny_pets"}, DatasetFormatError, "features.json: no image feature 'image'"),
    ({"name": "tiny_pets/varied", "image_key": "picture", "image_size": None}, DatasetFormatError,
     "give image_size"),
])
def test_problems_are_one_line_naming_the_file(data_dir, args, error, culprit):
    varied = data_dir / "tiny_pets" / "varied" / "1.0.0"  # as if the images differed in size
    if not varied.exists():
        shutil.copytree(data_dir / "tiny_pets" / "1.0.0", varied)
        features = varied / "features.json"
        features.write_text(features.read_text().replace('"12"', '"-1"').replace('"10"', '"-1"'))
    with pytest.raises(error) as raised:
        tfds_data.inspect(data_dir=data_dir, **{"image_size": 8, **args})
    message = str(raised.value)
    assert "\n" not in message and message.startswith(str(data_dir)) and culprit in message, message
