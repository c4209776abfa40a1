"""Model randomization by SSIM (``ssim.structural_similarity``) of each map with the randomized
model's; low: the map depends on the weights."""

from xaiexp.xai.metrics.metric import Metric


def structural_similarity(first, second, visible):
    from xaiexp.xai.metrics.ssim import structural_similarity as ssim

    return ssim(first, second, visible)


METRIC = Metric(name="randomization_ssim", order=80, similarity=structural_similarity,
                higher_is_better=False)
