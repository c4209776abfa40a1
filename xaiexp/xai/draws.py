"""Where SmoothGrad's noise and IG's random baselines come from.

Draws are addressed by (seed, stream, image): a stream is a method's own (its name in the call),
and the j-th random term of a stream for an image reads row j of that image's draws. So a
method's maps depend on its seed, name and image alone, never on which other methods run beside
it, on how the passes are cut into chunks, or on the other images a refinement re-runs with.

The k draws of a stream and image are sampled together, as uniforms in (0, 1) per element
(noise = Φ⁻¹(u), a unit normal), by a sampler:

- ``random``: independent draws (FastEstimator's, the default);
- ``antithetic``: pairs u, 1 − u (noise ε, −ε; baselines mirrored in the value range);
- ``latin``: a Latin hypercube: per element, the k draws fall one in each of k equal strata,
  so every pixel's noise and baseline values are spread evenly instead of clumping (McKay,
  Beckman & Conover, 1979). ``scipy.stats.qmc.LatinHypercube`` draws the same design, but
  shuffles the strata of one dimension at a time in Python: 1.2 s for 16 draws of a 224 × 224
  × 3 image, against ~0.1 s for ``rng.permuted`` on all dimensions at once.
"""

import hashlib
from collections.abc import Sequence

import numpy as np

# Uniforms are kept this far inside (0, 1), so that Φ⁻¹ stays finite (about ±8.1).
EDGE = 2.0 ** -53


def random(rng, count, size):
    return rng.random((count, size))


def antithetic(rng, count, size):
    half = rng.random(((count + 1) // 2, size))
    return np.concatenate([half, 1.0 - half])[:count]


def latin(rng, count, size):
    strata = rng.permuted(np.broadcast_to(np.arange(count), (size, count)), axis=1).T
    return (strata + rng.random((count, size))) / count


SAMPLERS = {sampler.__name__: sampler for sampler in (random, antithetic, latin)}


def stream_key(stream: str) -> int:
    """A stable 64-bit number for a stream's name (Python's ``hash`` of a str changes per run)."""
    return int.from_bytes(hashlib.blake2b(stream.encode(), digest_size=8).digest(), "little")


class Draws:
    """The noise (unit normals) and baseline uniforms of each (stream, image) of one call.

    ``entropy``: the seed's (``numpy.random.SeedSequence(seed).entropy``); ``images``: the ids of
    the call's images, position by position (their index in the batch a refinement came from);
    ``shape``: one image's. Draws are made on first use and kept until a later image is asked
    for (the engine asks image by image), so memory stays at one image's draws.
    """

    def __init__(self, entropy: int, images: Sequence[int], shape: tuple[int, ...]):
        self.entropy, self.images, self.shape = entropy, list(images), tuple(shape)
        self._kept = {}  # (stream, position, part) -> (count, *shape) float32

    def normals(self, stream, position, count, sampling):
        """(count, *shape) float32 unit normals: the noise of ``stream`` for the image at
        ``position``."""
        return self._draws(stream, position, count, sampling, part=0)

    def uniforms(self, stream, position, count, sampling):
        """(count, *shape) float32 uniforms in (0, 1): where the random baselines fall in the
        value range."""
        return self._draws(stream, position, count, sampling, part=1)

    def _draws(self, stream, position, count, sampling, part):
        from scipy.special import ndtri  # 1.3 s to import: not while a config is validated

        key = (stream, position, part)
        if key not in self._kept:
            self._kept = {k: v for k, v in self._kept.items() if k[1] >= position}
            seed = np.random.SeedSequence([self.entropy, stream_key(stream),
                                           self.images[position], part])
            size = int(np.prod(self.shape))
            values = np.clip(SAMPLERS[sampling](np.random.default_rng(seed), count, size),
                             EDGE, 1.0 - EDGE)
            values = ndtri(values) if part == 0 else values
            self._kept[key] = values.astype(np.float32).reshape(count, *self.shape)
        return self._kept[key]
