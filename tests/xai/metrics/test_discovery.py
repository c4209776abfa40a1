"""Metrics are found, not listed: each module of xaiexp/xai/metrics/declared/ declares one, and a
new metric is one new file there, validated, scored (against decoy masks too) and bounded as it
declares itself."""

from pathlib import Path

import numpy as np
import pytest

from tests.support.added_modules import added_modules
from xaiexp.xai.metrics import declared as metrics_package
from xaiexp.xai.registry import decoy_names, find_metric, mask_metric_names, metric_names

PEAK_SHARE = '''
"""The share of a map's largest values on the object: a metric added as this one file."""

import numpy as np

from xaiexp.xai.metrics.metric import Metric


def peak_share(card, batch, raw, maps, masks):
    scores = {}
    for column, relevance in raw.items():
        peaks = relevance >= relevance.max(axis=(1, 2, 3), keepdims=True)
        scores[column] = (peaks & (masks > 0)).sum(axis=(1, 2, 3)) / peaks.sum(axis=(1, 2, 3))
    return scores


METRIC = Metric(name="peak_share", order=100, score=peak_share, needs_masks=True,
                decoy="decoy_peak_share", floor="uniform", unit_range=True)
'''


@pytest.fixture
def extra_metric(tmp_path, monkeypatch):
    """``write(name, source)`` adds a metric module to the declared metrics' package."""
    with added_modules(metrics_package, tmp_path, monkeypatch) as add:
        yield add


def test_the_built_in_metrics_are_the_modules_of_the_folder():
    folder = Path(metrics_package.__path__[0])
    modules = {path.stem for path in folder.glob("*.py")} - {"__init__"}
    assert set(metric_names()) == modules
    assert decoy_names() == {"relevance_mass": "decoy_mass", "pointing_game": "decoy_pointing_game"}


def test_a_new_metric_is_one_file_checked_and_scored(extra_metric):
    from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line
    from xaiexp.xai.masks import relevance
    from xaiexp.xai.method_set import MethodSet, raw_key
    from xaiexp.xai.metrics.scorecard import Scorecard

    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config(["explain.metrics=[peak_share]"])
    assert error_line(error.value).startswith("explain.metrics: unknown 'peak_share'")

    extra_metric("peak_share", PEAK_SHARE)
    assert metric_names()[-1] == "peak_share" and "peak_share" in mask_metric_names()
    assert compose_config(["explain.metrics=[peak_share]"]).traces.saliency.metrics == ["peak_share"]
    assert find_metric("decoy_peak_share").bounds == (0.0, 1.0)

    attributions = np.zeros((2, 4, 4, 1), np.float32)
    attributions[0, 0, 0] = attributions[1, 3, 3] = 1.0  # a peak on the object, one off it
    masks = np.zeros((2, 4, 4, 1), np.uint8)
    masks[:, :2, :2] = 1
    decoys = 1 - masks
    card = Scorecard(["peak_share"], salnet=None, method_set=MethodSet(["vanilla"]),
                     mask_key="mask", decoy=lambda batch: decoys, floors=False)
    maps = {"y_pred": np.zeros(2, int), raw_key("saliency"): relevance(attributions)}
    scores = card.per_sample({"mask": masks}, maps)
    np.testing.assert_array_equal(scores[("saliency", "peak_share")], [1.0, 0.0])
    np.testing.assert_array_equal(scores[("saliency", "decoy_peak_share")], [0.0, 1.0])
