"""Photos for "Is my model cheating on my data?" (README): the UCI handwritten digits that ship
with scikit-learn (1797 images, 10 classes), upscaled to 48x48 RGB PNGs in one folder per class,

    <out>/patched/<digit>/<n>.png   a red class code painted in the top-left corner (the digit + 1
                                    in binary, one bit per quarter of a 12x12 square): a shortcut
    <out>/clean/<digit>/<n>.png     the same 1400 images without it
    <out>/test/<digit>/<n>.png      the other 397, clean
    <out>/corner/, <out>/test_corner/  decoy masks mirroring clean/ and test/: the code's square
    <out>/digitnet.py               a small CNN of the user's own, and its config model/digitnet.yaml

Usage: python examples/decoy_digits.py <out folder>
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

SIDE = 48  # the photos' side; the README's runs resize them to 32 (dataset.image_size=32)
CORNER = (3, 3, 12, 12)  # the code's top, left, height, width in the photos' pixels
MODEL = '''"""A user's own model: any function that returns a Keras model (xaiexp passes input_shape and classes)."""
import keras


def build(input_shape, classes, filters=12):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(input_shape),
        layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(2 * filters, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(classes, activation="softmax")])
'''


def write_photos(folder: Path, indices, patched: bool) -> None:
    """Digits ``indices`` as PNGs in ``folder/<digit>/``, with their class code if ``patched``."""
    digits = load_digits()
    top, left, height, width = CORNER
    for index in indices:
        image = np.kron(digits.images[index] / 16, np.ones((SIDE // 8, SIDE // 8)))
        rgb = (np.stack([image * 0.9, image, image * 0.6], -1) * 255).astype(np.uint8)
        label = int(digits.target[index])
        if patched:
            for bit in range(4):
                row, column = divmod(bit, 2)
                if (label + 1) >> bit & 1:
                    rgb[top + row * height // 2:top + (row + 1) * height // 2,
                        left + column * width // 2:left + (column + 1) * width // 2] = (255, 0, 0)
        path = folder / str(label) / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)


def write_decoy_masks(images: Path, masks: Path) -> None:
    """A mask for every photo under ``images``, at the same place under ``masks``: white where the
    code sits (or would), as ``dataset.decoy_masks`` reads them."""
    top, left, height, width = CORNER
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[top:top + height, left:left + width] = 255
    for photo in images.glob("*/*.png"):
        path = masks / photo.relative_to(images)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(path)


def write_all(out: Path, train: int = 1400, seed: int = 0) -> None:
    order = np.random.default_rng(seed).permutation(len(load_digits().target))
    write_photos(out / "patched", order[:train], patched=True)
    write_photos(out / "clean", order[:train], patched=False)
    write_photos(out / "test", order[train:], patched=False)
    write_decoy_masks(out / "clean", out / "corner")
    write_decoy_masks(out / "test", out / "test_corner")
    (out / "digitnet.py").write_text(MODEL)
    (out / "model").mkdir(exist_ok=True)
    (out / "model" / "digitnet.yaml").write_text("_target_: digitnet.build\nfilters: 12\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    write_all(parser.parse_args().out)
