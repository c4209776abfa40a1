"""Dataset loaders, fed small files written in the exact upstream formats.

No test touches the network: download origins are pointed at a local HTTP server, a closed
local port, or a local socket that never answers, and ``KERAS_HOME`` at a temporary folder.
"""

import dataclasses
import functools
import gzip
import http.server
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time

import numpy as np
import pytest

from tests.support.cifar import write_cifar
from xaiexp.dataset.data import _cache, cifar10, fashion_mnist, mnist, npz, shapes
from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError

CLOSED_PORT = "http://127.0.0.1:9/"  # the discard port: refused at once on any test machine


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # were KERAS_HOME ignored: not the real ~
    monkeypatch.setenv("no_proxy", "*")  # the local test servers, never a proxy
    return home / "datasets"


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder; yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def assert_one_line(error, *parts):
    message = str(error.value)
    assert "\n" not in message
    for part in parts:
        assert str(part) in message, f"{part!r} not in {message!r}"


# ---------------------------------------------------------------- CIFAR-10

def test_cifar10_reads_the_official_archive_from_path(tmp_path):
    train, evaluation = cifar10.load_data(path=write_cifar(tmp_path / "cifar-10-python.tar.gz"))
    assert train.data["x"].shape == (15, 32, 32, 3) and train.data["x"].dtype == np.uint8
    assert evaluation.data["x"].shape == (3, 32, 32, 3)
    assert train.data["y"].shape == (15,) and np.issubdtype(train.data["y"].dtype, np.integer)
    # batches 1..5 in order, whatever their order in the archive
    np.testing.assert_array_equal(train.data["x"][:, 0, 0, 0], [10, 11, 12, 20, 21, 22, 30, 31, 32,
                                                              40, 41, 42, 50, 51, 52])
    np.testing.assert_array_equal(train.data["y"][:4], [0, 1, 2, 0])
    assert evaluation.data["x"][0, 31, 1, 2] == 77  # channel-planar rows became NHWC pixels
    assert train.label_mapping == {name: i for i, name in enumerate(cifar10.CLASSES)}


def test_cifar10_takes_class_names_from_batches_meta_and_renames_keys(tmp_path):
    names = [f"thing{i}" for i in range(10)]
    archive = write_cifar(tmp_path / "c.tar.gz", label_names=names)
    train, evaluation = cifar10.load_data(image_key="image", label_key="label", path=archive)
    assert set(train.data) == {"image", "label"}
    assert evaluation.label_mapping == {name: i for i, name in enumerate(names)}


def test_cifar10_refuses_code_in_a_pickle(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = pickle.dumps({b"data": Payload(), b"labels": []}, protocol=3)
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DatasetFormatError) as error:
        cifar10.load_data(path=archive)
    assert not marker.exists()
    assert_one_line(error, archive, "refusing to unpickle")


@pytest.mark.parametrize("content", [b"not a tarball", None])
def test_cifar10_names_a_broken_or_incomplete_archive(tmp_path, content):
    archive = tmp_path / "c.tar.gz"
    if content is None:
        with tarfile.open(archive, "w:gz"):
            pass
    else:
        archive.write_bytes(content)
    with pytest.raises(DatasetFormatError) as error:
        cifar10.load_data(path=archive)
    assert_one_line(error, archive, "cifar-10-python.tar.gz")


def test_cifar10_reads_a_verified_archive_from_the_keras_cache(keras_home, monkeypatch):
    keras_home.mkdir(parents=True)
    cached = write_cifar(keras_home / "cifar-10-batches-py-target_archive")
    monkeypatch.setattr(cifar10, "ARCHIVE",
                        dataclasses.replace(cifar10.ARCHIVE, sha256=_cache.sha256(cached)))
    train, _ = cifar10.load_data()
    assert len(train) == 15


def test_cifar10_refuses_a_cached_file_with_the_wrong_hash_and_keeps_it(keras_home):
    keras_home.mkdir(parents=True)
    cached = write_cifar(keras_home / "cifar-10-batches-py-target_archive")
    before = cached.read_bytes()
    with pytest.raises(DatasetFormatError) as error:
        cifar10.load_data()
    assert cached.read_bytes() == before
    assert_one_line(error, cached, cifar10.ARCHIVE.sha256, "cifar-10-python.tar.gz")


def test_cifar10_without_cache_or_network_says_what_to_place_where(keras_home, monkeypatch):
    monkeypatch.setattr(cifar10, "ARCHIVE", dataclasses.replace(
        cifar10.ARCHIVE, url=CLOSED_PORT + "cifar-10-python.tar.gz"))
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as error:
        cifar10.load_data()
    assert time.perf_counter() - start < 10
    assert_one_line(error, "cifar-10-python.tar.gz",
                    keras_home / "cifar-10-batches-py-target_archive",
                    "dataset.path=/path/to/cifar-10-python.tar.gz")
    assert not keras_home.exists() or not any(keras_home.iterdir())


def test_a_host_that_never_answers_fails_after_the_probe_timeout(keras_home, monkeypatch):
    silent = socket.create_server(("127.0.0.1", 0))  # connections queue up, nobody replies
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/cifar-10-python.tar.gz"
    monkeypatch.setattr(cifar10, "ARCHIVE", dataclasses.replace(cifar10.ARCHIVE, url=url))
    monkeypatch.setattr(_cache, "PROBE_TIMEOUT", 0.5)
    start = time.perf_counter()
    with silent, pytest.raises(DatasetNotFoundError) as error:
        cifar10.load_data()
    assert time.perf_counter() - start < 3
    assert_one_line(error, "timed out", "dataset.path=")


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        cifar10.load_data(path=tmp_path / "nowhere.tar.gz")
    assert_one_line(error, tmp_path / "nowhere.tar.gz")


# ---------------------------------------------------------------- MNIST

def write_mnist(path, n_train=6, n_eval=4):
    """mnist.npz as Keras downloads it: uint8 (N, 28, 28) images, uint8 (N,) labels."""
    x_train = np.zeros((n_train, 28, 28), np.uint8)
    x_train[:, 27, 0] = np.arange(n_train)
    np.savez(path, x_train=x_train, y_train=(np.arange(n_train) % 10).astype(np.uint8),
             x_test=np.full((n_eval, 28, 28), 9, np.uint8), y_test=np.full(n_eval, 3, np.uint8))
    return path


def test_mnist_reads_mnist_npz_from_path_with_a_channel_axis(tmp_path):
    train, evaluation = mnist.load_data(path=write_mnist(tmp_path / "mnist.npz"))
    assert train.data["x"].shape == (6, 28, 28, 1) and train.data["x"].dtype == np.uint8
    np.testing.assert_array_equal(train.data["x"][:, 27, 0, 0], np.arange(6))
    np.testing.assert_array_equal(evaluation.data["y"], [3, 3, 3, 3])
    assert train.label_mapping == {str(i): i for i in range(10)}


def test_mnist_reads_a_verified_file_from_the_keras_cache(keras_home, monkeypatch):
    keras_home.mkdir(parents=True)
    cached = write_mnist(keras_home / "mnist.npz")
    monkeypatch.setattr(mnist, "FILE",
                        dataclasses.replace(mnist.FILE, sha256=_cache.sha256(cached)))
    assert len(mnist.load_data()[1]) == 4


def test_mnist_refuses_a_cached_file_with_the_wrong_hash_and_keeps_it(keras_home):
    keras_home.mkdir(parents=True)
    cached = write_mnist(keras_home / "mnist.npz")
    with pytest.raises(DatasetFormatError) as error:
        mnist.load_data()
    assert cached.exists()
    assert_one_line(error, cached, mnist.FILE.sha256)


def test_mnist_without_cache_or_network_says_what_to_place_where(keras_home, monkeypatch):
    monkeypatch.setattr(mnist, "FILE",
                        dataclasses.replace(mnist.FILE, url=CLOSED_PORT + "mnist.npz"))
    with pytest.raises(DatasetNotFoundError) as error:
        mnist.load_data()
    assert_one_line(error, keras_home / "mnist.npz", "dataset.path=/path/to/mnist.npz")


def test_mnist_names_a_file_without_the_expected_arrays(tmp_path):
    np.savez(tmp_path / "m.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DatasetFormatError) as error:
        mnist.load_data(path=tmp_path / "m.npz")
    assert_one_line(error, tmp_path / "m.npz", "x_test")


def test_a_download_with_the_wrong_hash_leaves_nothing_in_the_cache(keras_home, server,
                                                                   monkeypatch):
    root, url = server
    write_mnist(root / "mnist.npz")
    monkeypatch.setattr(mnist, "FILE", dataclasses.replace(mnist.FILE, url=url + "mnist.npz"))
    with pytest.raises(DatasetFormatError) as error:
        mnist.load_data()
    assert_one_line(error, url + "mnist.npz", mnist.FILE.sha256)
    assert list(keras_home.iterdir()) == []


# ---------------------------------------------------------------- Fashion-MNIST

def write_idx(path, array):
    """An idx file as published: 0, 0, 0x08 (unsigned bytes), rank, big-endian int32 sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def write_fashion(folder, n_train=5, n_eval=3):
    folder.mkdir(parents=True, exist_ok=True)
    x_train = np.zeros((n_train, 28, 28), np.uint8)
    x_train[:, 0, 27] = 10 + np.arange(n_train)
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n_train) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.ones((n_eval, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(n_eval, 9))
    return folder


def check_fashion(train, evaluation):
    assert train.data["x"].shape == (5, 28, 28, 1) and evaluation.data["x"].shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(train.data["x"][:, 0, 27, 0], 10 + np.arange(5))
    np.testing.assert_array_equal(train.data["y"], np.arange(5))
    np.testing.assert_array_equal(evaluation.data["y"], [9, 9, 9])
    assert train.label_mapping["Ankle boot"] == 9 and train.label_mapping["T-shirt/top"] == 0


def test_fashion_mnist_reads_a_folder_of_idx_files(tmp_path):
    check_fashion(*fashion_mnist.load_data(path=write_fashion(tmp_path / "fashion")))


def test_fashion_mnist_reads_the_keras_cache_folder(keras_home):
    write_fashion(keras_home / "fashion-mnist")
    check_fashion(*fashion_mnist.load_data())


def test_fashion_mnist_downloads_the_missing_files_into_the_cache(keras_home, server, monkeypatch):
    root, url = server
    write_fashion(root)
    write_fashion(keras_home / "fashion-mnist")
    (keras_home / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    monkeypatch.setattr(fashion_mnist, "_URL", url)
    check_fashion(*fashion_mnist.load_data())
    cached = sorted(file.name for file in (keras_home / "fashion-mnist").iterdir())
    assert cached == sorted(fashion_mnist.FILES)


def test_fashion_mnist_without_cache_or_network_lists_the_files(keras_home, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "_URL", CLOSED_PORT)
    with pytest.raises(DatasetNotFoundError) as error:
        fashion_mnist.load_data()
    assert_one_line(error, *fashion_mnist.FILES, keras_home / "fashion-mnist", "dataset.path=")


def test_fashion_mnist_names_a_folder_missing_a_file(tmp_path):
    folder = write_fashion(tmp_path / "fashion")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as error:
        fashion_mnist.load_data(path=folder)
    assert_one_line(error, folder, "t10k-labels-idx1-ubyte.gz")


BAD_IDX = {
    "not gzip": (b"plain bytes", "gzip"),
    "int32 data": (gzip.compress(bytes([0, 0, 0x0C, 1]) + struct.pack(">ii", 1, 7)), "magic"),
    "truncated header": (gzip.compress(bytes([0, 0, 8, 3, 0, 0])), "magic"),
    "short data": (gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">i", 9) + b"x"), "(9,)"),
}


@pytest.mark.parametrize("content, expected", BAD_IDX.values(), ids=BAD_IDX.keys())
def test_fashion_mnist_names_a_broken_idx_file(tmp_path, content, expected):
    folder = write_fashion(tmp_path / "fashion")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(content)
    with pytest.raises(DatasetFormatError) as error:
        fashion_mnist.load_data(path=folder)
    assert_one_line(error, folder / "train-labels-idx1-ubyte.gz", expected)


# ---------------------------------------------------------------- Shapes

def test_shapes_arrays_keys_and_classes():
    train, evaluation = shapes.load_data(n_train=103, n_eval=20, seed=1)
    x, y, mask = (train.data[key] for key in ("x", "y", "mask"))
    assert x.shape == (103, 32, 32, 3) and x.dtype == np.uint8
    assert mask.shape == (103, 32, 32, 1) and set(np.unique(mask)) == {0, 1}
    assert y.shape == (103,) and len(evaluation) == 20
    assert train.label_mapping == {name: i for i, name in enumerate(shapes.CLASSES)}
    counts = np.bincount(y, minlength=len(shapes.CLASSES))
    assert counts.max() - counts.min() <= 1
    assert x.std() > 30  # images, not blank canvases
    renamed, _ = shapes.load_data(n_train=5, n_eval=5, image_size=40, image_key="image",
                                  label_key="label", mask_key="truth")
    assert set(renamed.data) == {"image", "label", "truth"}
    assert renamed.data["image"].shape == (5, 40, 40, 3)


def test_shapes_are_deterministic_given_the_seed():
    first, second, other = (shapes.load_data(n_train=40, n_eval=10, seed=seed)
                            for seed in (3, 3, 4))
    for key in ("x", "y", "mask"):
        np.testing.assert_array_equal(first[0].data[key], second[0].data[key])
        np.testing.assert_array_equal(first[1].data[key], second[1].data[key])
    assert not np.array_equal(first[0].data["x"], other[0].data["x"])
    train, evaluation = shapes.load_data(n_train=10, n_eval=10, seed=3)
    assert not np.array_equal(train.data["x"], evaluation.data["x"])  # eval: other images
    more_eval, _ = shapes.load_data(n_train=40, n_eval=30, seed=3)
    np.testing.assert_array_equal(more_eval.data["x"], first[0].data["x"])


def shrink(mask):
    """Pixels of ``mask`` whose 4 neighbours are in it too (beyond the border counts as out)."""
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    return (mask & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1]
            & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:])


def test_shapes_masks_cover_exactly_the_object():
    x, mask = (shapes.load_data(n_train=300, n_eval=1, seed=2)[0].data[k] for k in ("x", "mask"))
    mask = mask[..., 0].astype(bool)
    area = mask.mean((1, 2))
    assert area.min() > 0.02 and area.max() < 0.7
    inside, outside = shrink(shrink(mask)), shrink(shrink(~mask))  # 2 pixels from the edge
    for image, core, background in zip(x.astype(float), inside, outside):
        assert core.sum() > 0
        object_colour = image[core].mean(0)
        assert image[core].std(0).max() < 10  # one flat colour plus noise: no background inside
        assert np.abs(image[background].mean(0) - object_colour).max() > 30


def test_shapes_colour_does_not_tell_the_class():
    train, _ = shapes.load_data(n_train=1000, n_eval=1, seed=5)
    x, y, mask = (train.data[key] for key in ("x", "y", "mask"))
    colour = (x * mask).sum((1, 2)) / mask.sum((1, 2))  # mean object colour per image
    means = np.array([colour[y == label].mean(0) for label in range(len(shapes.CLASSES))])
    assert np.abs(means - means.mean(0)).max() < 25  # per-class averages: all near the overall one


def test_shapes_generates_ten_thousand_images_in_seconds():
    start = time.perf_counter()
    shapes.load_data(n_train=8000, n_eval=2000)
    assert time.perf_counter() - start < 6


# ---------------------------------------------------------------- npz

def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_splits_a_single_file(tmp_path):
    path = save(tmp_path / "mine.npz", x=np.arange(10 * 8 * 8).reshape(10, 8, 8) % 256,
                y=np.arange(10) % 2, mask=np.ones((10, 8, 8), bool),
                class_names=np.array(["cat", "dog"]))
    train, evaluation = npz.load_data(path, eval_fraction=0.3, seed=1)
    assert (len(train), len(evaluation)) == (7, 3)
    assert train.data["x"].shape == (7, 8, 8, 1) and evaluation.data["mask"].shape == (3, 8, 8, 1)
    assert train.label_mapping == {"cat": 0, "dog": 1}
    rows = np.concatenate([train.data["x"][:, 0, 0, 0], evaluation.data["x"][:, 0, 0, 0]])
    assert sorted(rows) == sorted(np.arange(10) * 64 % 256)  # every row once, none lost
    again, _ = npz.load_data(path, eval_fraction=0.3, seed=1)
    np.testing.assert_array_equal(again.data["x"], train.data["x"])


def test_npz_uses_a_ready_eval_split_and_a_given_mapping(tmp_path):
    path = save(tmp_path / "split.npz", x=np.zeros((4, 6, 6, 3), np.float32),
                y=np.array([[0], [1], [2], [0]]),
                x_eval=np.ones((2, 6, 6, 3), np.float32), y_eval=np.array([2, 2]))
    mapping = {"a": 0, "b": 1, "c": 2}
    train, evaluation = npz.load_data(path, label_mapping=mapping, image_key="image")
    assert len(train) == 4 and len(evaluation) == 2
    np.testing.assert_array_equal(evaluation.data["image"], np.ones((2, 6, 6, 3)))
    np.testing.assert_array_equal(train.data["y"], [0, 1, 2, 0])
    assert evaluation.label_mapping == mapping
    assert npz.load_data(path)[0].label_mapping == {"0": 0, "1": 1, "2": 2}


def test_npz_carries_decoy_masks_into_both_splits(tmp_path):
    decoy = np.zeros((6, 8, 8), np.uint8)
    decoy[:, :2, :2] = 1
    path = save(tmp_path / "decoys.npz", x=np.zeros((6, 8, 8, 3), np.uint8), y=np.arange(6) % 2,
                decoy_mask=decoy, x_eval=np.zeros((2, 8, 8, 3), np.uint8), y_eval=np.array([0, 1]),
                decoy_mask_eval=decoy[:2, ..., None] * 3)
    train, evaluation = npz.load_data(path)
    assert train.keys == ("x", "y", "decoy_mask") and evaluation.shape("decoy_mask") == (8, 8, 1)
    np.testing.assert_array_equal(train.data["decoy_mask"][..., 0], decoy)
    assert npz.inspect(path).rows == (6, 2)
    renamed, _ = npz.load_data(path, decoy_key="shortcut")
    assert "shortcut" in renamed.keys


X, Y = np.zeros((4, 6, 6, 3), np.uint8), np.array([0, 1, 0, 1])
BAD_FILES = {
    "no y": (dict(x=X), "y"),
    "lengths differ": (dict(x=X, y=Y[:3]), "lengths differ"),
    "x is 2-D": (dict(x=np.zeros((4, 6)), y=Y), "(N>0, H, W[, C])"),
    "x is text": (dict(x=np.array(["a"] * 4), y=Y), "numeric images"),
    "float labels": (dict(x=X, y=Y.astype(float)), "integer labels"),
    "negative labels": (dict(x=X, y=-Y), "non-negative"),
    "mask size": (dict(x=X, y=Y, mask=np.ones((4, 5, 5))), "mask must be (N, H, W[, 1])"),
    "eval size": (dict(x=X, y=Y, x_eval=np.zeros((2, 5, 5, 3)), y_eval=Y[:2]), "x_eval images"),
    "eval without labels": (dict(x=X, y=Y, x_eval=X), "y_eval"),
    "mask without mask_eval": (dict(x=X, y=Y, mask=X[..., :1], x_eval=X, y_eval=Y), "mask_eval"),
    "decoy_mask size": (dict(x=X, y=Y, decoy_mask=np.ones((4, 6, 5))), "decoy_mask must be (N, H, W[, 1])"),
    "decoy_mask_eval without decoy_mask": (dict(x=X, y=Y, x_eval=X, y_eval=Y, decoy_mask_eval=X[..., 0]),
                                           "decoy_mask and decoy_mask_eval must come together"),
    "decoy_mask_eval rows": (dict(x=X, y=Y, decoy_mask=X[..., 0], x_eval=X, y_eval=Y,
                                  decoy_mask_eval=X[:3, ..., 0]), "lengths differ"),
    "one class": (dict(x=X, y=Y * 0), "y has 1 class (0); a classifier needs at least 2"),
    "one named class": (dict(x=X, y=Y * 0 + 1, class_names=np.array(["cat", "dog"])), "1 class (dog)"),
    "class_names numbers": (dict(x=X, y=Y, class_names=np.arange(2)), "class_names"),
    "unnamed labels": (dict(x=X, y=Y + 1, class_names=np.array(["a", "b"])), "y[1] = 2 has no class name"),
}


@pytest.mark.parametrize("arrays, expected", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_npz_names_the_file_and_what_was_expected(tmp_path, arrays, expected):
    path = save(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetFormatError) as error:
        npz.load_data(path)
    assert_one_line(error, path, expected)


def test_npz_refuses_pickled_objects_and_non_npz_files(tmp_path):
    pickled = save(tmp_path / "objects.npz", x=np.array([None] * 4, dtype=object), y=Y)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    single = tmp_path / "single.npy"
    np.save(single, X)
    for path in (pickled, text, single):
        with pytest.raises(DatasetFormatError) as error:
            npz.load_data(path)
        assert_one_line(error, path, ".npz of numeric arrays")


def test_npz_names_a_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        npz.load_data(tmp_path / "absent.npz")
    assert_one_line(error, tmp_path / "absent.npz")


def test_importing_the_loaders_does_not_import_tensorflow():
    code = ("import sys\n"
            "from xaiexp.dataset.data import cifar10, fashion_mnist, mnist, npz, shapes\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the shortcut (decoy) variant of shapes ------------------------------------------------

def _patch_classes(split):
    """(N,) the class whose pattern fills each image's decoy patch."""
    x, decoy = split.data["x"], split.data["decoy_mask"][..., 0] == 1
    grid = np.indices(x.shape[1:3])
    patterns = np.stack([p(*grid) for p in shapes.DECOY_PATTERNS.values()]) * 255
    matches = [[(image[..., 0][inside] == pattern[inside]).all() and
                (image[inside] == image[inside][:, :1]).all() for pattern in patterns]
               for image, inside in zip(x, decoy)]
    assert (np.sum(matches, axis=1) == 1).all()  # exactly one class's pattern, in grey
    return np.argmax(matches, axis=1)


def test_shapes_shortcut_codes_the_class_in_train_and_eval_and_break_shortcut_randomizes_it():
    plain, _ = shapes.load_data(n_train=200, n_eval=1, seed=4)
    train, evaluation = shapes.load_data(n_train=200, n_eval=400, seed=4, shortcut=True)
    assert set(plain.data) == {"x", "y", "mask"}
    side, margin = 8, 2  # a quarter of 32, inset by a sixteenth
    for split in (train, evaluation):
        decoy = split.data["decoy_mask"]
        assert decoy.shape == (len(decoy), 32, 32, 1) and decoy.dtype == np.uint8
        assert (decoy.sum(axis=(1, 2, 3)) == side * side).all()
        corners = decoy[:, [margin, margin, -1 - margin, -1 - margin],
                        [margin, -1 - margin, margin, -1 - margin], 0]
        assert (corners.sum(1) == 1).all()  # one corner each
        assert not (split.data["mask"] & decoy).any()  # the patch hides the object
        np.testing.assert_array_equal(_patch_classes(split), split.data["y"])
    outside = train.data["decoy_mask"][..., 0] == 0  # elsewhere the images are the plain ones
    np.testing.assert_array_equal(train.data["x"][outside], plain.data["x"][outside])

    before = evaluation.data["x"].copy()
    shapes.break_shortcut(evaluation, seed=4)
    assert (_patch_classes(evaluation) == evaluation.data["y"]).mean() < 0.35  # about 1 in 5
    outside = evaluation.data["decoy_mask"][..., 0] == 0
    np.testing.assert_array_equal(evaluation.data["x"][outside], before[outside])
