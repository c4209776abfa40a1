"""Model randomization (Adebayo et al., 2018): the Spearman correlation of each map with the
randomized model's (``randomization.rank_correlation``); low: the map depends on the weights."""

from xaiexp.xai.metrics.metric import Metric


def rank_correlation(first, second, visible):
    from xaiexp.xai.metrics.randomization import rank_correlation as correlation

    return correlation(first, second, visible)


METRIC = Metric(name="randomization", order=70, similarity=rank_correlation,
                higher_is_better=False)
