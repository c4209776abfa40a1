"""Relevance mass (Arras et al., 2022): the share of a map's positive relevance inside the
object mask (``localization.relevance_mass``)."""

from xaiexp.xai.metrics.metric import Metric


def relevance_mass(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.localization import relevance_mass as share_inside

    return {column: share_inside(relevance, masks) for column, relevance in raw.items()}


METRIC = Metric(name="relevance_mass", order=10, score=relevance_mass, needs_masks=True,
                decoy="decoy_mass", default=True, floor="uniform", unit_range=True)
