"""Shapes: the embedded dataset. Needs no download, and knows where the object is.

Each image holds one shape (the class) of random position, size, rotation and colour on a
random textured background (flat, gradient, stripes or blotches) with sensor noise. Colour is
drawn independently of the class, so only the outline tells the classes apart, and the
per-pixel object ``mask`` is the ground truth a saliency map can be scored against.
With ``shortcut``, a small class-coded patch (a decoy, after Ross et al., 2017, "Right for the
Right Reasons", https://arxiv.org/abs/1703.03717) offers a model an easier, wrong cue, whose
use a saliency map should reveal: the seed's "airplane or blue sky?" question with a known
answer.
Everything is computed on coordinate grids with NumPy, a whole batch of images at a time.
"""

from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data.summary import Summary
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.dataset.numpy_dataset import NumpyDataset
from xaiexp.util.bounds import bounded

CLASSES = ("circle", "ring", "square", "triangle", "cross")
# Difficulty, tuned so the seed's LeNet (adam 1e-3, batch 32, x / 255, 8000 images) reaches
# 0.975-0.985 eval accuracy after 4 epochs (0.90-0.97 after 3), but only 0.75-0.78 after one.
RADIUS = (0.3, 0.44)  # shape radius, as a fraction of the image side
TEXTURE_CONTRAST = 40  # largest per-channel difference between a background's two colours
NOISE = 4  # largest per-image standard deviation of the pixel noise
SUBPIXELS = 2  # edges are antialiased from SUBPIXELS x SUBPIXELS samples per pixel
# The shortcut patch: a square of a quarter of the image side, inset by a sixteenth (LeNet's
# unpadded convolutions barely see the outermost pixels), filled with a black-and-white pattern
# per class. Measured with LeNet, 5 epochs, 8000 images (test accuracy with random patches):
# Ross et al.'s 4x4 grey-level patch is ignored (0.99: the shape is learnt as fast), an 8x8
# colour-coded one half used (0.44), the patterns taken over (0.22, chance is 0.2).
DECOY_FRACTION = 0.25
DECOY_MARGIN = 0.0625
# Each class's code, in CLASSES' order: (rows, columns) of the image grid -> white (True) / black.
DECOY_PATTERNS = {
    "horizontal stripes": lambda rows, columns: rows % 2 == 0,
    "vertical stripes": lambda rows, columns: columns % 2 == 0,
    "checkerboard": lambda rows, columns: (rows + columns) % 2 == 0,
    "2x2 checkerboard": lambda rows, columns: (rows // 2 + columns // 2) % 2 == 0,
    "diagonal stripes": lambda rows, columns: (rows + columns) % 4 < 2,
}


@dataclass
class ShapesConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.shapes.load_data"
    n_train: int = bounded(8000, minimum=1)
    n_eval: int = bounded(2000, minimum=1)
    image_size: int = bounded(32, minimum=1)
    seed: int = 0
    # a class-coded pattern patch in a corner of every train/eval image, repainted at random in
    # the test split (experiment=shortcut_detection)
    shortcut: bool = False


SCHEMAS = (ShapesConfig,)


def load_data(n_train=ShapesConfig.n_train, n_eval=ShapesConfig.n_eval,
              image_size=ShapesConfig.image_size, seed=ShapesConfig.seed, image_key="x", label_key="y",
              mask_key="mask", shortcut=ShapesConfig.shortcut, decoy_key="decoy_mask", test_split=None):
    """``(train, eval)`` NumpyDatasets: ``image_key`` uint8 (N, S, S, 3), ``label_key`` int (N,)
    with classes balanced, ``mask_key`` uint8 (N, S, S, 1), 1 where the shape covers the pixel.

    The same ``seed`` gives the same arrays; train and eval come from independent streams, so
    changing ``n_eval`` does not change the training images.

    With ``shortcut``, each image also gets a square patch (side ``DECOY_FRACTION`` · S) in a
    random corner (over the shape, whose mask loses those pixels), recorded under ``decoy_key``
    uint8 (N, S, S, 1). Its pattern (``DECOY_PATTERNS``, by class) gives the class away in train and
    in eval alike, as a biased validation set would; ``break_shortcut`` repaints a split's at
    random (the test split), where a model that learnt the patch instead of the shape fails.
    The images are otherwise the same as without ``shortcut``.

    ``test_split`` (a share of eval) returns ``(train, eval, test)``, the test split's patches
    repainted with ``break_shortcut`` when there is a ``shortcut``.
    """
    mapping = {name: label for label, name in enumerate(CLASSES)}
    keys = (image_key, label_key, mask_key) + ((decoy_key,) if shortcut else ())

    def split(n, stream):
        rng = np.random.default_rng([seed, stream])
        arrays = draw(n, image_size, rng)
        if shortcut:
            arrays += (add_decoy(*arrays, rng),)
        return NumpyDataset(dict(zip(keys, arrays)), mapping)

    train, evaluation = split(n_train, 0), split(n_eval, 1)
    if test_split is None:
        return train, evaluation
    test = evaluation.split(test_split, seed=seed)
    if shortcut:
        break_shortcut(test, seed=seed, image_key=image_key, decoy_key=decoy_key)
    return train, evaluation, test


def inspect(image_size=ShapesConfig.image_size, n_train=ShapesConfig.n_train,
            n_eval=ShapesConfig.n_eval, **_):
    """The ``Summary`` of the images ``load_data`` would draw."""
    # drawing peaks at ~32 bytes a pixel: float32 image and noise (24), coverage and masks
    return Summary(tuple(CLASSES), (image_size, image_size, 3), rows=(n_train, n_eval),
                   in_memory=(n_train + n_eval) * image_size ** 2 * 32)


def add_decoy(x, y, mask, rng):
    """Paint class-coded decoy patches into ``x`` and cut them from ``mask`` (in place); returns
    their (n, size, size, 1) uint8 mask."""
    n, size = len(x), x.shape[1]
    side = max(1, round(DECOY_FRACTION * size))
    corner = rng.integers(0, 4, n)
    margin = round(DECOY_MARGIN * size)
    top, left = (np.where(bit, size - side - margin, margin)[:, None]
                 for bit in (corner // 2, corner % 2))
    pixels = np.arange(size)
    rows, columns = (pixels >= top) & (pixels < top + side), (pixels >= left) & (pixels < left + side)
    decoy = (rows[:, :, None] & columns[:, None, :])[..., None]
    _paint(x, decoy, y)
    mask[decoy] = 0
    return decoy.astype(np.uint8)


def break_shortcut(dataset, seed=0, image_key="x", decoy_key="decoy_mask"):
    """Repaint ``dataset``'s decoy patches (in place) with the patterns of random classes: the
    patch no longer tells the class, so accuracy there shows what a model learnt without it."""
    x = dataset.data[image_key]
    classes = np.random.default_rng([seed, 2]).integers(0, len(CLASSES), len(x))
    _paint(x, dataset.data[decoy_key].astype(bool), classes)


def _paint(x, decoy, classes):
    grid = np.indices(x.shape[1:3])
    patterns = np.stack([pattern(*grid) for pattern in DECOY_PATTERNS.values()])
    x[:] = np.where(decoy, patterns[classes][..., None] * np.uint8(255), x)


def draw(n, size, rng):
    """``n`` images: x uint8 (n, size, size, 3), y int64 (n,), mask uint8 (n, size, size, 1)."""
    labels = rng.permutation(np.arange(n) % len(CLASSES))
    first = rng.uniform(0, 255, (n, 3)).astype(np.float32)
    shift = rng.uniform(-TEXTURE_CONTRAST, TEXTURE_CONTRAST, (n, 3)).astype(np.float32)
    second = np.clip(first + shift, 0, 255)
    colour = _contrasting(first, second, rng)
    blend = _texture(n, size, rng)[..., None]
    coverage = _coverage(labels, size, rng)[..., None]
    image = first[:, None, None] + (second - first)[:, None, None] * blend
    image += (colour[:, None, None] - image) * coverage
    image += (rng.uniform(0, NOISE, (n, 1, 1, 1)).astype(np.float32)
              * rng.standard_normal(image.shape, dtype=np.float32))
    return (np.rint(np.clip(image, 0, 255, out=image), out=image).astype(np.uint8),
            labels.astype(np.int64), (coverage >= 0.5).astype(np.uint8))


def _contrasting(first, second, rng, candidates=8):
    """(n, 3): of a few random colours, the one farthest from both background colours."""
    options = rng.uniform(0, 255, (len(first), candidates, 3)).astype(np.float32)
    distance = np.minimum(np.linalg.norm(options - first[:, None], axis=-1),
                          np.linalg.norm(options - second[:, None], axis=-1))
    return options[np.arange(len(first)), distance.argmax(1)]


def _texture(n, size, rng):
    """(n, size, size) in [0, 1]: flat, gradient, stripes or blotches, at random angles."""
    kind = rng.integers(0, 4, n)
    angle = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    frequency = rng.uniform(2, 6, (n, 1, 1)).astype(np.float32)
    coarse = rng.uniform(0, 1, (n, 5, 5)).astype(np.float32)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    along = grid[:, None] * np.sin(angle) + grid * np.cos(angle)  # position along the angle
    gradient, stripes, blotches = kind == 1, kind == 2, kind == 3
    blend = np.zeros((n, size, size), np.float32)
    blend[gradient] = (along[gradient] - along[gradient].min((1, 2), keepdims=True)) / np.sqrt(2)
    blend[stripes] = 0.5 + 0.5 * np.sin(2 * np.pi * frequency[stripes] * along[stripes])
    up = _upsampling(5, size)
    blend[blotches] = np.einsum("hi,nij,wj->nhw", up, coarse[blotches], up)
    return blend


def _upsampling(low, high):
    """(high, low) bilinear weights: ``A @ grid @ A.T`` resizes a low x low grid to high x high."""
    position = (np.arange(high) + 0.5) * low / high - 0.5
    return np.clip(1 - np.abs(position[:, None] - np.arange(low)), 0, 1).astype(np.float32)


def _coverage(labels, size, rng):
    """(n, size, size): the share of each pixel inside the image's shape, from subpixel samples."""
    n = len(labels)
    radius = rng.uniform(*RADIUS, (n, 1, 1)).astype(np.float32) * size
    centre_y, centre_x = (rng.uniform(radius, size - radius).astype(np.float32) for _ in "yx")
    angle = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    cos, sin = np.cos(angle), np.sin(angle)
    coverage = np.zeros((n, size, size), np.float32)
    offsets = (np.arange(SUBPIXELS, dtype=np.float32) + 0.5) / SUBPIXELS
    for oy in offsets:
        for ox in offsets:
            dy = np.arange(size, dtype=np.float32)[:, None] + oy - centre_y
            dx = np.arange(size, dtype=np.float32) + ox - centre_x
            u, v = (dx * cos + dy * sin) / radius, (dy * cos - dx * sin) / radius
            for label, name in enumerate(CLASSES):
                chosen = labels == label
                coverage[chosen] += _SHAPES[name](u[chosen], v[chosen])
    return coverage / SUBPIXELS ** 2


def _triangle(u, v):
    """Equilateral with circumradius 1: inside the three edges, each 0.5 from the centre."""
    edges = np.pi / 2 + 2 * np.pi / 3 * np.arange(3)
    return np.all([u * np.cos(a) + v * np.sin(a) <= 0.5 for a in edges], 0)


# Each maps local coordinates (u, v), in units of the radius, to inside (True) / outside.
_SHAPES = {
    "circle": lambda u, v: u ** 2 + v ** 2 <= 1,
    "ring": lambda u, v: (0.3 <= u ** 2 + v ** 2) & (u ** 2 + v ** 2 <= 1),
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.85,
    "triangle": _triangle,
    "cross": lambda u, v: ((np.abs(u) <= 0.3) & (np.abs(v) <= 0.9))
    | ((np.abs(v) <= 0.3) & (np.abs(u) <= 0.9)),
}
