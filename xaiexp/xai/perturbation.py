"""Class scores of perturbed copies of images (occlusion, deletion/insertion curves), in bounded
memory: copies are built and scored a few images at a time, at most ``chunk_size`` per call."""

import numpy as np


def perturbed_scores(predict, images, classes, perturb, variants, chunk_size=1024):
    """(B, variants) scores of class ``classes[b]`` on each of image b's perturbed copies.

    ``perturb(s)`` returns the copies of ``images[s]`` (a slice) shaped (n, variants, H, W, C);
    ``predict`` maps (N, H, W, C) images to (N, classes) outputs.
    """
    group = max(1, chunk_size // variants)
    scores = []
    for start in range(0, len(images), group):
        part = slice(start, start + group)
        copies = perturb(part)
        outputs = np.asarray(predict(copies.reshape(-1, *images.shape[1:])))
        outputs = outputs.reshape(len(copies), variants, -1)
        chosen = np.asarray(classes[part]).reshape(-1, 1, 1)
        scores.append(np.take_along_axis(outputs, chosen, axis=2)[..., 0])
    return np.concatenate(scores)


def predicted_classes(predict, images, chunk_size=1024):
    """(B,) the class ``predict`` scores highest for each of ``images``, at most ``chunk_size``
    a call."""
    return np.concatenate([np.asarray(predict(images[i:i + chunk_size])).argmax(axis=-1)
                           for i in range(0, len(images), chunk_size)])
