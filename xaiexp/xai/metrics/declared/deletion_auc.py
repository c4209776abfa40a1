"""Deletion AUC (``faithfulness.deletion_auc``): the predicted class's probability, relative to
the clean image's, as the most relevant pixels become the Scorecard's deletion baseline; low is
faithful."""

from xaiexp.xai.metrics.metric import Metric


def deletion_auc(card, batch, raw, maps, masks):
    from xaiexp.xai.metrics.faithfulness import deletion_auc as area

    return card.curves(area, batch, raw, maps, baseline=card.baselines["deletion_auc"], black=card.black)


METRIC = Metric(name="deletion_auc", order=30, score=deletion_auc, default=True,
                higher_is_better=False, floor="random", non_negative=True)
