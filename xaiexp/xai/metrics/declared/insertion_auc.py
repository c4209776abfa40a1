"""Insertion AUC (``faithfulness.insertion_auc``): the predicted class's probability, relative to
the clean image's, as the most relevant pixels come back onto the Scorecard's insertion baseline;
high is faithful, and it may pass 1."""

from xaiexp.xai.metrics.metric import Metric


def insertion_auc(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.faithfulness import insertion_auc as area

    return card.curves(area, batch, raw, maps, baseline=card.baselines["insertion_auc"], black=card.black)


METRIC = Metric(name="insertion_auc", order=40, score=insertion_auc, default=True,
                floor="random", non_negative=True)
