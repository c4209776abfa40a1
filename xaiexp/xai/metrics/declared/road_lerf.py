"""ROAD, least relevant first (``road.road``): the share of removals after which the model still
predicts the class; high is faithful."""

from xaiexp.xai.metrics.metric import Metric


def road_lerf(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.road import road

    return card.curves(road, batch, raw, maps, order="lerf")


METRIC = Metric(name="road_lerf", order=60, score=road_lerf, floor="random", unit_range=True)
