"""One score per scored image, with the image's id: what lets ``xaiexp report`` compare two runs
image by image (a paired test) instead of comparing two means.

An image's id is a digest of its pixels as the model saw them, so runs of one seed (which score
the same class-stratified images, ``stratified.py``) share ids, and runs of another seed or
dataset share none, without either run knowing about the other.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np

IMAGE_ID = "image_id"  # the array of ids in ``ImageScores.arrays()``


def image_ids(images) -> np.ndarray:
    """(n,) 16-hex-digit ids of (n, ...) images: the first 64 bits of SHA-256 of each image's
    float32 pixels."""
    pixels = np.ascontiguousarray(images, np.float32)
    return np.array([hashlib.sha256(image.tobytes()).hexdigest()[:16] for image in pixels])


@dataclass(frozen=True)
class ImageScores:
    """Per-image scores of one explained epoch.

    ``scores`` maps ``<method>/<metric>`` (as in ``xai/<method>/<metric>``) to (n,) scores of
    the images ``ids``; ``weights`` says which weights were explained: "epoch" (the model as it
    is after that epoch), "best" (a best-model saver restored its best weights for test),
    "final" (the last epoch's weights, at test) or "loaded" (at test, nothing trained:
    ``xaiexp explain``), and ``weights_epoch`` the epoch they are from (``trace/xai/weights.py``).
    """

    ids: np.ndarray
    scores: dict = field(default_factory=dict)
    weights: str = "epoch"
    weights_epoch: int = 0

    def arrays(self) -> dict[str, np.ndarray]:
        """{``IMAGE_ID``: ids, "<method>/<metric>": scores}: the columns of the logged .npz."""
        return {IMAGE_ID: np.asarray(self.ids, str), **self.scores}

    def tags(self, mode: str) -> dict[str, str]:
        """At test, ``xaiexp.test_weights`` (best, final or loaded) and
        ``xaiexp.test_weights_epoch``."""
        if self.weights == "epoch":
            return {}
        return {f"xaiexp.{mode}_weights": self.weights,
                f"xaiexp.{mode}_weights_epoch": str(self.weights_epoch)}
