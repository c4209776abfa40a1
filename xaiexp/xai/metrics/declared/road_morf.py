"""ROAD, most relevant first (``road.road``): the share of removals after which the model still
predicts the class; low is faithful."""

from xaiexp.xai.metrics.metric import Metric


def road_morf(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.road import road

    return card.curves(road, batch, raw, maps, order="morf")


METRIC = Metric(name="road_morf", order=50, score=road_morf, higher_is_better=False,
                floor="random", unit_range=True)
