"""Explanation quality as numbers: localization against ground-truth masks, faithfulness to the
model's scores, sensitivity to the model's weights, and integrated-gradient completeness."""

from xaiexp.xai.metrics.completeness import completeness_error
from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass
from xaiexp.xai.metrics.randomization import cascading_randomization

__all__ = [
    "cascading_randomization",
    "completeness_error",
    "deletion_auc",
    "insertion_auc",
    "pointing_game",
    "relevance_mass",
]
