"""A slow, plainly written reference of FastEstimator's saliency semantics (README, "Saliency
maps") to check the batched engine against: one GradientTape call per image and gradient point,
NumPy for everything else."""

import numpy as np
import tensorflow as tf


def predicted_classes(model, images):
    return np.array([int(np.argmax(model(image[None], training=False)[0])) for image in images])


def gradient(model, image, target_class):
    point = tf.constant(image[None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(point)
        output = model(point, training=False)[0, target_class]
    return tape.gradient(output, point)[0].numpy()


def vanilla(model, images, classes):
    return np.stack([gradient(model, image, c) for image, c in zip(images, classes)])


def smooth(model, images, classes, noises, magnitude=True):
    """Mean over the clean input and one noisy copy per array in ``noises``."""
    maps = [vanilla(model, images + noise, classes) for noise in [0.0, *noises]]
    return np.mean([m * m if magnitude else m for m in maps], axis=0)


def integrated(model, images, classes, baselines, steps, summed=False):
    """(x − b) times the mean (or, as in FastEstimator, the sum) of the path gradients."""
    maps = []
    for image, baseline, target_class in zip(images, baselines, classes):
        grads = [gradient(model, baseline + alpha * (image - baseline), target_class)
                 for alpha in np.linspace(0.0, 1.0, steps)]
        total = np.sum(grads, axis=0) if summed else np.mean(grads, axis=0)
        maps.append((image - baseline) * total)
    return np.stack(maps)


def smooth_integrated(model, images, classes, baselines_per_sample, steps):
    """SmInt without noise: mean of the squared clean gradient and squared summed IG maps."""
    maps = [vanilla(model, images, classes)]
    maps += [integrated(model, images, classes, baselines, steps, summed=True)
             for baselines in baselines_per_sample]
    return np.mean([m * m for m in maps], axis=0)


def masks(attributions):
    result = []
    for attribution in attributions:
        mask = np.abs(attribution).sum(axis=-1)
        ordered = np.sort(mask.ravel())
        vmin, vmax = ordered[0], ordered[int(np.floor(0.99 * (ordered.size - 1)))]
        result.append(np.clip((mask - vmin) / (vmax - vmin), 0, 1)[..., None])
    return np.stack(result).astype(np.float32)
