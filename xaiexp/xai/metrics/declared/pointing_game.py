"""The pointing game (Zhang et al., 2018): does a map's maximum fall on the object, within the
Scorecard's ``pointing_tolerance`` (``localization.pointing_game``)?"""

from xaiexp.xai.metrics.metric import Metric


def pointing_game(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.localization import pointing_game as hits

    return {column: hits(relevance, masks, tolerance=card.pointing_tolerance)
            for column, relevance in raw.items()}


METRIC = Metric(name="pointing_game", order=20, score=pointing_game, needs_masks=True,
                decoy="decoy_pointing_game", default=True, floor="uniform", unit_range=True)
