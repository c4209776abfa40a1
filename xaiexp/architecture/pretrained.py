"""Where Keras Applications keep their ImageNet weights, and what a backbone's ``weights`` and
``input_shape`` must be: checked without importing TensorFlow, so a run's pre-flight can refuse
before TensorFlow starts.

Keras downloads these files on first use into ``$KERAS_HOME/models`` (``~/.keras/models`` by
default) and reads them from there afterwards. Without internet the download fails, so the
builders in ``xaiexp.architecture.tensorflow.applications`` never let Keras try: they load the
cached file themselves, and refuse with the file's name, place and URL when it is missing. File
names, sizes and hashes mirror ``keras/src/applications/mobilenet_v2.py`` and ``resnet.py``.
"""

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"
MIN_SIZE = 32  # smallest height and width both applications take
IMAGENET_SIZE = 224  # the square side the applications were trained at on ImageNet
CHANNELS = (1, 3)  # grayscale is repeated to RGB in the model
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)  # widths Keras ships ImageNet weights for
MOBILENET_V2_SIZES = (96, 128, 160, 192, IMAGENET_SIZE)  # square sizes likewise; others load 224's
RESNET50_NOTOP_MD5 = "4d473c1dd8becc155b73f8504c6f6626"  # resnet.py's WEIGHTS_HASHES
BACKBONES = ("mobilenet_v2", "resnet50")


@dataclass(frozen=True)
class ImagenetFile:
    """One ImageNet weights file without the classifier (``include_top=False``)."""

    name: str
    url: str
    md5: str | None = None  # when Keras checks one

    @property
    def path(self) -> Path:
        return keras_home() / "models" / self.name


def keras_home() -> Path:
    """Keras' cache directory, as ``keras.src.backend.config`` chooses it: ``$KERAS_HOME``, else
    ``~/.keras``, else ``/tmp/.keras`` when the home directory is not writable."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = os.path.expanduser("~")
    return Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras"


def imagenet_size(input_shape) -> int:
    """The square size of the MobileNetV2 weights Keras loads for ``input_shape``: its own if
    Keras ships it, else 224's."""
    rows, cols = input_shape[:2]
    return rows if rows == cols and rows in MOBILENET_V2_SIZES else IMAGENET_SIZE


def imagenet_file(name: str, input_shape=(IMAGENET_SIZE, IMAGENET_SIZE, 3), alpha: float = 1.0) -> ImagenetFile:
    """The weights file Keras would download for backbone ``name`` ("mobilenet_v2" or
    "resnet50") at ``input_shape`` (and ``alpha`` for MobileNetV2)."""
    if name == "mobilenet_v2":
        file = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"
                f"{float(alpha)}_{imagenet_size(input_shape)}_no_top.h5")
        return ImagenetFile(file, f"{KERAS_URL}/mobilenet_v2/{file}")
    if name == "resnet50":
        file = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return ImagenetFile(file, f"{KERAS_URL}/resnet/{file}", RESNET50_NOTOP_MD5)
    raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")


def weights_problem(name: str, weights, input_shape, alpha: float = 1.0) -> str | None:
    """What is wrong with building backbone ``name`` with ``weights`` ("imagenet", None or the
    path of a Keras Applications .h5 weights file) on images of ``input_shape`` (H, W, C), as one
    line; None if nothing is. Missing ImageNet weights are named with their place and URL."""
    shape_problem = _shape_problem(name, input_shape)
    if shape_problem or weights is None:
        return shape_problem
    if weights != "imagenet":
        if not isinstance(weights, str | os.PathLike) or not Path(weights).is_file():
            return (f"{name} weights must be 'imagenet', null or the path of a weights file; "
                    f"{weights!r} is not a file")
        return None
    if name == "mobilenet_v2" and alpha not in MOBILENET_V2_ALPHAS:
        return (f"{name} has ImageNet weights for alpha in {MOBILENET_V2_ALPHAS} only, got "
                f"alpha={alpha}")
    file = imagenet_file(name, input_shape, alpha)
    if not file.path.is_file():
        return (f"{name} ImageNet weights are not in Keras' cache (no download here): place "
                f"{file.path} (from {file.url}), or give a weights file's path, or train from "
                f"random weights (weights=null) with freeze_backbone=false")
    if file.md5 and _digest(file.path) != file.md5:
        return (f"{name} ImageNet weights {file.path} do not match Keras' md5 {file.md5}: "
                f"replace the file with {file.url}")
    return None


def weights_file(name: str, weights, input_shape, alpha: float = 1.0) -> str | None:
    """The file to load into backbone ``name`` (None for random weights), after
    ``weights_problem``, whose message it raises. Like Keras, warns when MobileNetV2's ImageNet
    weights are not for ``input_shape``'s size."""
    problem = weights_problem(name, weights, input_shape, alpha)
    if problem:
        raise ValueError(problem)
    if weights != "imagenet":
        return None if weights is None else os.fspath(weights)
    rows, cols = input_shape[:2]
    if name == "mobilenet_v2" and not (rows == cols and rows in MOBILENET_V2_SIZES):
        warnings.warn(f"{name}: Keras ships ImageNet weights for square inputs of "
                      f"{MOBILENET_V2_SIZES} only; loading 224x224's for {rows}x{cols}",
                      stacklevel=2)
    return os.fspath(imagenet_file(name, input_shape, alpha).path)


def _shape_problem(name, input_shape):
    if name not in BACKBONES:
        return f"backbone must be one of {BACKBONES}, got {name!r}"
    if len(input_shape) != 3 or input_shape[-1] not in CHANNELS:
        return f"{name} needs (height, width, 1 or 3 channels) images, got {tuple(input_shape)}"
    if min(input_shape[:2]) < MIN_SIZE:
        return (f"{name} needs images of at least {MIN_SIZE}x{MIN_SIZE}, got "
                f"{input_shape[0]}x{input_shape[1]}")
    return None


def _digest(path):
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "md5").hexdigest()
