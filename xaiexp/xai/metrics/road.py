"""ROAD, RemOve And Debias (Rong et al., 2022, "A Consistent and Efficient Evaluation Strategy for
Attribution Methods", https://arxiv.org/abs/2202.00449): does the prediction survive when the
pixels a map ranks first are removed?

Deletion to black cannot tell a map from a random one on small images: the black pixels
themselves, wherever they go, carry the information the model reads (their shape leaks the
removed region) and move the image out of distribution. ROAD removes pixels by *noisy linear
imputation*: each removed pixel becomes the weighted average of its 8 neighbours (1/6 across
edges, 1/12 across corners), solved as one sparse linear system over all removed pixels, plus
Gaussian noise of σ ``noise`` in input units, so a removed region looks like its surroundings.

Per image, for each share of pixels in ``percentages`` (10 %, 20 %, …, 90 % by default), the
pixels are removed most relevant first (``"morf"``) or least relevant first (``"lerf"``), ties
in a seeded random order (``ranking.py``); the score is the share of those removals after which
the model still predicts the class — the area under the paper's accuracy curve, per image.
MoRF: low is faithful; LeRF: high is faithful. An all-zero map ranks nothing: NaN.
"""

import functools

import keras
import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.linalg import spsolve

from xaiexp.xai.metrics.ranking import pixel_ranks, ranked
from xaiexp.xai.perturbation import perturbed_scores, predicted_classes

ORDERS = ("morf", "lerf")
PERCENTAGES = tuple(range(10, 100, 10))
NEIGHBOURS = {(0, 1): 1 / 6, (1, 0): 1 / 6, (0, -1): 1 / 6, (-1, 0): 1 / 6,
              (1, 1): 1 / 12, (1, -1): 1 / 12, (-1, 1): 1 / 12, (-1, -1): 1 / 12}


def road(model, images, maps, classes=None, order="morf", percentages=PERCENTAGES, noise=0.01,
         seed=0, chunk_size=1024):
    """(B,) share of ``percentages`` at which the model still predicts ``classes`` (default:
    the predicted ones) once that share of pixels, most (``order="morf"``) or least (``"lerf"``)
    relevant first by ``maps``, is imputed (see above). Noise and ties are drawn from ``seed``."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {list(ORDERS)}, got {order!r}")
    if not percentages or not all(0 < p < 100 for p in percentages):
        raise ValueError(f"percentages must be between 0 and 100 (exclusive), got {percentages}")
    images = np.asarray(images, np.float32)

    def predicted(x):  # 1 for the predicted class(es), 0 elsewhere: its "score" says "kept"
        outputs = keras.ops.convert_to_numpy(model(x, training=False))
        return (outputs == outputs.max(axis=-1, keepdims=True)).astype(np.float32)

    if classes is None:
        classes = predicted_classes(lambda x: model(x, training=False), images, chunk_size)
    rank = pixel_ranks(maps, seed)
    if order == "lerf":
        rank = rank.shape[1] - 1 - rank
    counts = [int(rank.shape[1] * p / 100) for p in percentages]
    rng = np.random.default_rng(seed)

    def removed_copies(part):
        return np.stack([[impute(image, (ranks < count).reshape(image.shape[:2]), noise, rng)
                          for count in counts] for image, ranks in zip(images[part], rank[part])])

    kept = perturbed_scores(predicted, images, np.asarray(classes), removed_copies, len(counts),
                            chunk_size)
    return np.where(ranked(maps), kept.mean(axis=1, dtype=np.float64), np.nan)


def impute(image, removed, noise=0.01, rng=None):
    """``image`` (H, W, C) with its ``removed`` (H, W) pixels replaced by noisy linear imputation
    (see above): the solution of "each removed pixel is the weighted mean of its neighbours",
    plus N(0, ``noise``²) per value."""
    height, width, channels = image.shape
    weights = _neighbour_weights(height, width)
    removed = removed.reshape(-1)
    if not removed.any():
        return image
    values = image.reshape(-1, channels).astype(np.float64)
    inside = weights[removed]
    system = diags(np.asarray(weights.sum(axis=1)).ravel()[removed]) - inside[:, removed]
    known = inside[:, ~removed] @ values[~removed]
    solved = spsolve(system.tocsc(), known).reshape(-1, channels)
    if noise:
        solved = solved + noise * (rng or np.random.default_rng()).standard_normal(solved.shape)
    imputed = values.copy()
    imputed[removed] = solved
    return imputed.reshape(image.shape).astype(image.dtype)


@functools.lru_cache(maxsize=8)
def _neighbour_weights(height, width):
    """(H·W, H·W) sparse CSR: the weight of each pixel's in-image neighbours (NEIGHBOURS)."""
    rows, columns = np.mgrid[:height, :width]
    source, target, weight = [], [], []
    for (down, right), value in NEIGHBOURS.items():
        inside = ((rows + down >= 0) & (rows + down < height) & (columns + right >= 0)
                  & (columns + right < width))
        source.append((rows * width + columns)[inside])
        target.append(((rows + down) * width + columns + right)[inside])
        weight.append(np.full(inside.sum(), value))
    size = height * width
    return coo_matrix((np.concatenate(weight), (np.concatenate(source), np.concatenate(target))),
                      shape=(size, size)).tocsr()
