"""Completeness of the one-term integrated methods (Sundararajan et al., 2017): their relative
error |Σ attributions − (f(x) − f(b))| / |f(x) − f(b)|, computed with the maps
(``MethodSet.explain`` with ``completeness``)."""

from xaiexp.xai.metrics.metric import Metric


def completeness(card, batch, raw, maps, masks):
    return {column: maps[f"{column} completeness"] for column in raw
            if f"{column} completeness" in maps}


METRIC = Metric(name="completeness", order=90, score=completeness, higher_is_better=False,
                non_negative=True)
