"""The Saliency trace's method columns and per-epoch metrics: every chosen method becomes a
column, every chosen metric a logged ``xai/<method>/<metric>`` that a sweep can optimize."""

import math

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras

import numpy as np
import pytest

from xaiexp.system import System
from xaiexp.trace.xai import Saliency
from xaiexp.util.data import Data
from xaiexp.util.img_data import Overlay
from xaiexp.xai.decoy import Border, Box
from xaiexp.xai.registry import find_metric, method_names, metric_names
from xaiexp.xai.image_scores import image_ids
from xaiexp.xai.statistics import COMPANIONS
from xaiexp.xai.stratified import StratifiedSample, priorities

SHAPE = (8, 8, 3)
ALL_COLUMNS = ["saliency", "Smoothed saliency", "Integrated saliency", "SmInt saliency",
               "Gradient x Input saliency", "VarGrad saliency", "GradCAM saliency",
               "Occlusion saliency"]
ALL_KEYS = ["saliency", "smoothed_saliency", "integrated_saliency", "smint_saliency",
            "gradient_x_input_saliency", "vargrad_saliency", "gradcam_saliency",
            "occlusion_saliency"]


def small_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE),
                             keras.layers.Conv2D(4, 3, activation="relu", padding="same"),
                             keras.layers.Flatten(),
                             keras.layers.Dense(3, activation="softmax")])


def probes(size=3, seed=0, mask=None, decoy=None):
    """A batch; ``mask``/``decoy``: the value filling an object/decoy mask, if any."""
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=(size, *SHAPE)).astype(np.float32),
              "y": rng.integers(0, 3, size=(size, 1))}
    for key, fill in (("mask", mask), ("decoy_mask", decoy)):
        if fill is not None:
            values[key] = np.full((size, *SHAPE[:2], 1), fill, np.uint8)
    return values


def trace(model=None, **kwargs):
    settings = dict(model=model or small_cnn(), model_inputs="x", model_outputs="y_pred",
                    class_key="y", smoothing=2, integrating=(3, 2), seed=0, occlusion=(4, 4),
                    metrics=())
    made = Saliency(**{**settings, **kwargs})
    made.system = System(mode="eval")
    return made


def epoch(made, batch):
    made.system.epoch_idx += 1
    made.on_batch_end(Data(batch))
    data = Data()
    made.on_epoch_end(data)
    return data


def test_every_method_is_a_column_in_the_chosen_order():
    methods = list(reversed(method_names()))
    figure = epoch(trace(methods=methods), probes(size=3))["saliency"]
    columns = list(reversed(ALL_COLUMNS))
    assert list(figure) == ["y", "y_pred", "x", "x saliency", *columns]
    for column in columns:
        assert figure[column].shape == (3, *SHAPE[:2], 1) and figure[column].dtype == np.float32
        assert 0 <= figure[column].min() and figure[column].max() <= 1
    assert isinstance(figure["x saliency"], Overlay)
    np.testing.assert_array_equal(figure["x saliency"].masks, figure[columns[-1]])


def test_gradient_methods_share_one_engine_call(monkeypatch):
    made = trace(methods=["vanilla", "smoothgrad", "integrated", "smint", "gradient_x_input",
                          "vargrad"])
    calls = []
    explain = made.salnet.explain
    monkeypatch.setattr(made.salnet, "explain", lambda *a, **k: calls.append(a) or explain(*a, **k))
    epoch(made, probes())
    assert len(calls) == 1


def test_default_columns_follow_smoothing_and_integrating():
    figure = epoch(trace(smoothing=0, integrating=(3, 0)), probes())["saliency"]
    assert list(figure)[4:] == ["saliency", "Integrated saliency"]


@pytest.mark.parametrize("methods, settings, message", [
    (["vanilla", "lime"], {}, "methods must be a non-empty list"),
    ([], {}, "methods must be a non-empty list"),
    (["smoothgrad"], {"smoothing": 0}, "smoothgrad needs smoothing >= 1"),
    (["vargrad"], {"smoothing": 0}, "vargrad needs smoothing >= 1"),
    (["integrated"], {"integrating": 0}, "integrated needs integration steps >= 1"),
    (["smint"], {"integrating": (3, 0)}, "smint needs SmInt samples >= 1"),
])
def test_impossible_methods_are_refused(methods, settings, message):
    with pytest.raises(ValueError, match=message):
        trace(methods=methods, **settings)


def logged_keys(methods, metrics):
    """Every key the trace logs for ``methods`` (key parts) and ``metrics``: each score with its
    companions, ``_floor_p`` where the metric has a floor, and the floors' own rows."""
    keys = set()
    for metric in metrics:
        kind = find_metric(metric)
        rows = [*methods, *({"uniform": FLOORS, "random": FLOORS[1:]}.get(kind.floor, ()))]
        for row in rows:
            companions = COMPANIONS if kind.floor and row not in FLOORS else COMPANIONS[:-1]
            keys |= {f"xai/{row}/{metric}{suffix}" for suffix in ("", *companions)}
    return keys


FLOORS = ("uniform_floor", "random_floor")


def test_every_chosen_metric_is_logged_under_its_key():
    made = trace(methods=method_names(), metrics=metric_names(), mask_key="mask", decoy_key="decoy_mask")
    batch = probes(mask=1, decoy=0)
    batch["decoy_mask"][:, :, :2] = 1  # the two left columns
    logs = epoch(made, batch).read_logs()
    per_method = ["relevance_mass", "pointing_game", "deletion_auc", "insertion_auc", "road_morf",
                  "road_lerf", "randomization", "randomization_ssim", "decoy_mass",
                  "decoy_pointing_game"]
    expected = logged_keys(ALL_KEYS, per_method)
    expected |= {f"xai/integrated_saliency/completeness{suffix}" for suffix in ("", *COMPANIONS[:-1])}
    assert set(logs) == expected
    # SSIM's windows need 11 x 11 pixels: undefined on these 8 x 8 images, counted in _n
    ssim = {key for key in logs if "/randomization_ssim" in key}
    assert all(isinstance(value, float) and np.isfinite(value) for key, value in logs.items()
               if key not in ssim)
    assert all(logs[f"xai/{key}/randomization_ssim{suffix}"] == 0 if suffix == "_n" else np.isnan(
        logs[f"xai/{key}/randomization_ssim{suffix}"]) for key in ALL_KEYS
        for suffix in ("", "_ci_low", "_ci_high", "_n"))
    for key in ALL_KEYS:  # the object mask covers everything
        assert logs[f"xai/{key}/relevance_mass"] == 1.0 and logs[f"xai/{key}/relevance_mass_n"] == 3
        assert 0 <= logs[f"xai/{key}/decoy_mass"] <= 1
        assert 0 <= logs[f"xai/{key}/road_morf"] <= 1 and 0 <= logs[f"xai/{key}/road_lerf"] <= 1
        assert logs[f"xai/{key}/deletion_auc"] >= 0 and logs[f"xai/{key}/insertion_auc"] >= 0
    assert logs["xai/uniform_floor/decoy_mass"] == pytest.approx(2 / 8)  # the region's share
    assert logs["xai/uniform_floor/decoy_pointing_game"] == pytest.approx(2 / 8)
    assert logs["xai/integrated_saliency/completeness"] >= 0


def test_mask_metrics_are_skipped_without_masks():
    made = trace(metrics=["relevance_mass", "pointing_game", "deletion_auc"])
    logs = epoch(made, probes(mask=1, decoy=1)).read_logs()
    assert set(logs) == logged_keys(ALL_KEYS[:4], ["deletion_auc"])


def test_each_mask_metric_also_scores_the_decoy():
    made = trace(methods=["vanilla"], metrics=["relevance_mass"], mask_key="mask",
                 decoy_key="decoy_mask")
    logs = epoch(made, probes(mask=0, decoy=1)).read_logs()
    assert np.isnan(logs["xai/saliency/relevance_mass"]) and logs["xai/saliency/relevance_mass_n"] == 0
    assert logs["xai/saliency/decoy_mass"] == 1.0 and logs["xai/saliency/decoy_mass_n"] == 3
    made = trace(methods=["vanilla"], metrics=["pointing_game"], mask_key="mask",
                 decoy_key="decoy_mask")
    logs = epoch(made, probes(mask=0, decoy=1)).read_logs()
    assert logs["xai/saliency/decoy_pointing_game"] == 1.0
    assert (logs["xai/saliency/decoy_pointing_game_ci_low"], logs["xai/saliency/decoy_pointing_game_ci_high"]) \
        == pytest.approx((0.025 ** (1 / 3), 1.0))  # 3 hits of 3: the exact interval


def test_a_decoy_region_is_scored_like_decoy_masks():
    region = trace(methods=["vanilla"], metrics=["relevance_mass", "pointing_game"],
                   decoy=Box(top=0, left=0, height=8, width=2))
    masks = probes()
    masks["decoy_mask"] = np.zeros((3, 8, 8, 1), np.uint8)
    masks["decoy_mask"][:, :, :2] = 1
    given = trace(methods=["vanilla"], metrics=["relevance_mass", "pointing_game"],
                  decoy_key="decoy_mask")
    assert epoch(region, probes()).read_logs() == epoch(given, masks).read_logs()
    with pytest.raises(ValueError, match="not both"):
        trace(decoy_key="decoy_mask", decoy=Border(width=1))


def tracing_counts(salnet):
    return [function.experimental_get_tracing_count() for functions in
            salnet.engine._compiled.values() for function in functions]


def test_randomization_falls_below_identical_weights_without_retracing():
    model = small_cnn()
    made = trace(model, methods=["vanilla"], metrics=["randomization"])
    randomized, _ = made.scorecard._randomized.steps[-1]  # the fully randomized model
    batch = probes(size=6)
    fresh = epoch(made, batch).read_logs()["xai/saliency/randomization"]
    counts = tracing_counts(randomized), tracing_counts(made.salnet)
    randomized.engine.model.set_weights(model.get_weights())
    same = epoch(made, batch).read_logs()["xai/saliency/randomization"]
    assert same == pytest.approx(1.0) and fresh < 0.7
    epoch(made, batch)
    assert (tracing_counts(randomized), tracing_counts(made.salnet)) == counts
    assert all(count == 1 for count in counts[0] + counts[1])


def test_a_logged_metric_is_a_valid_objective():
    from xaiexp.app.cli import compose_config
    from xaiexp.app.tasks.train import objective

    made = trace(metrics=["relevance_mass", "deletion_auc"], mask_key="mask")
    logs = epoch(made, probes(mask=1)).read_logs()
    for metric in ("eval/xai/smoothed_saliency/relevance_mass", "eval/xai/saliency/deletion_auc"):
        cfg = compose_config([f"objective.metric={metric}"])
        assert objective(cfg, {"eval": logs, "test": logs}) == logs[metric.partition("/")[2]]


@pytest.mark.parametrize("direction, accuracy, expected", [
    ("maximize", 0.95, 0.5), ("maximize", 0.85, -math.inf), ("minimize", 0.85, math.inf)])
def test_an_objective_counts_only_above_its_floor(direction, accuracy, expected, capsys):
    from xaiexp.app.cli import compose_config
    from xaiexp.app.tasks.train import objective

    cfg = compose_config(["objective.metric=eval/xai/saliency/relevance_mass",
                          f"objective.direction={direction}", "objective.subject_to.at_least=0.9"])
    logs = {"accuracy": accuracy, "xai/saliency/relevance_mass": 0.5}
    assert objective(cfg, {"eval": logs, "test": logs}) == expected
    if expected != 0.5:
        assert ("xaiexp: eval/xai/saliency/relevance_mass does not count: eval/accuracy 0.85 < 0.9"
                in capsys.readouterr().err)


def test_every_explains_every_nth_eval_epoch_the_last_and_test():
    made = trace(every=3, metrics=["deletion_auc"])
    made.system.total_epochs = 7
    batch = probes()
    explained = [epoch(made, batch).get("saliency") is not None for _ in range(7)]
    assert explained == [False, False, True, False, False, True, True]
    assert "x" in made.probes["eval"] and len(made.probes["eval"]["x"]) == 3  # from epoch 1
    made.system.mode = "test"
    made.system.epoch_idx = 7
    made.on_batch_end(Data(batch))
    data = Data()
    made.on_epoch_end(data)
    assert "saliency" in data and "xai/saliency/deletion_auc" in data.read_logs()


def test_score_every_paints_every_epoch_and_scores_the_last_and_test():
    made = trace(metrics=["deletion_auc"], score_every=None)
    made.system.total_epochs = 3
    batch = probes()
    epochs = [epoch(made, batch) for _ in range(3)]
    assert all("saliency" in data for data in epochs)  # the figure, every epoch
    assert [bool(data.read_logs()) for data in epochs] == [False, False, True]
    made.system.mode = "test"
    made.on_batch_end(Data(batch))
    data = Data()
    made.on_epoch_end(data)
    assert "xai/saliency/deletion_auc" in data.read_logs()
    with pytest.raises(ValueError, match="score_every must be >= 1, got 0"):
        trace(score_every=0)


def test_an_eval_pass_outside_fit_is_scored_whatever_score_every_says():
    """``xaiexp explain explain.split=eval``: one eval epoch, epoch 0, and so the last."""
    made = trace(metrics=["deletion_auc"], score_every=None)
    made.system.total_epochs = 1
    made.system.epoch_idx = -1  # epoch() counts up to 0
    assert "xai/saliency/deletion_auc" in epoch(made, probes()).read_logs()


def test_every_also_explains_an_epoch_that_stops_training():
    made = trace(every=5)
    made.system.total_epochs = 10
    made.system.stop_training = True  # e.g. early stopping decided this epoch is the last
    assert "saliency" in epoch(made, probes())
    with pytest.raises(ValueError, match="every must be >= 1, got 0"):
        trace(every=0)


def test_output_noise_range_and_baselines_reach_the_explainer():
    made = trace(output="logit", noise_range="image", deletion_baseline="mean",
                 insertion_baseline="black")
    assert made.salnet.output == "logit" and made.salnet.engine.noise_range == "image"
    assert made.scorecard.baselines == {"deletion_auc": "mean", "insertion_auc": "black"}


def test_a_scoring_set_is_class_stratified_and_its_standard_error_logged():
    made = trace(methods=["vanilla"], metrics=["relevance_mass"], mask_key="mask",
                 score_samples=6, samples=2)
    rng = np.random.default_rng(0)
    batches = []
    for index, labels in enumerate(([0, 0, 0, 0], [0, 1, 0, 0], [2, 1, 1, 0])):
        batch = probes(size=4, seed=index)
        batch["y"] = np.array(labels)[:, None]
        batch["mask"] = (rng.random((4, *SHAPE[:2], 1)) < 0.5).astype(np.uint8)
        batches.append(batch)
    made.system.epoch_idx = 1
    for batch in batches:
        made.on_batch_end(Data(batch))
    data = Data()
    made.on_epoch_end(data)
    scored = made.scoring["eval"]
    # a plain re-deal: each class's images by their seeded draw, then round-robin over classes
    images = np.concatenate([b["x"] for b in batches])
    labels = np.concatenate([b["y"][:, 0] for b in batches])
    draws = priorities(image_ids(images), 0)
    by_class = {c: sorted(np.flatnonzero(labels == c), key=lambda i: draws[i]) for c in (0, 1, 2)}
    dealt = [by_class[c][rank] for rank in range(8) for c in (0, 1, 2) if rank < len(by_class[c])]
    np.testing.assert_array_equal(scored["x"], images[dealt[:6]])
    np.testing.assert_array_equal(scored["y"][:, 0], [0, 1, 2, 0, 1, 0])
    assert len(made.probes["eval"]["x"]) == 2
    logs = data.read_logs()
    relevance = made.scorecard.per_sample(scored, made.method_set.explain(made.salnet, scored))
    values = relevance[("saliency", "relevance_mass")]
    assert logs["xai/saliency/relevance_mass"] == pytest.approx(values.mean())
    se = math.sqrt(sum((v - values.mean()) ** 2 for v in values) / 5 / 6)
    assert logs["xai/saliency/relevance_mass_se"] == pytest.approx(se)


def test_chosen_probes_still_get_a_scoring_set():
    chosen = probes(size=2, seed=3)
    made = trace(methods=["vanilla"], metrics=["deletion_auc"], samples=chosen, score_samples=4)
    assert made.needs_batch()
    logs = epoch(made, probes(size=5, seed=4)).read_logs()
    assert len(made.scoring["eval"]["x"]) == 4 and not made.needs_batch()
    np.testing.assert_array_equal(made.probes["eval"]["x"], chosen["x"])
    assert logs["xai/saliency/deletion_auc_se"] > 0


def scored_rows(data):
    """The methods (and floors) an epoch logged scores of."""
    return sorted({key.split("/")[1] for key in data.read_logs()})


def test_heavy_methods_are_scored_every_nth_eval_epoch_the_last_and_test(monkeypatch):
    made = trace(methods=["vanilla", "smint", "occlusion"], metrics=["deletion_auc"], heavy_every=2,
                 score_samples=3)
    made.system.total_epochs = 3
    explained = []  # the columns each scoring-set explanation computed
    explain = made.method_set.explain
    monkeypatch.setattr(made.method_set, "explain", lambda salnet, batch, completeness=False, columns=None: (
        explained.append(columns) or explain(salnet, batch, completeness, columns)))
    scored = []
    for _ in range(3):
        data = epoch(made, probes())
        assert list(data["saliency"])[4:] == ["saliency", "SmInt saliency", "Occlusion saliency"]  # always shown
        scored.append(scored_rows(data))
    made.system.mode = "test"
    made.on_batch_end(Data(probes()))
    data = Data()
    made.on_epoch_end(data)
    scored.append(scored_rows(data))
    everything = ["occlusion_saliency", "random_floor", "saliency", "smint_saliency"]
    assert scored == [["random_floor", "saliency"], everything, everything, everything]  # epochs 1, 2, 3 (last), test
    light, heavy = ["saliency"], ["saliency", "SmInt saliency", "Occlusion saliency"]
    assert explained == [None, light, None, heavy, None, heavy, None, heavy]  # probes, then the set
    assert data["saliency_scores"].scores.keys() == {f"{key}/deletion_auc" for key in everything}
    with pytest.raises(ValueError, match="heavy_every must be >= 1, got 0"):
        trace(heavy_every=0)


def test_scores_are_written_image_by_image_with_the_images_ids():
    made = trace(methods=["vanilla", "smoothgrad"], metrics=["deletion_auc"], score_samples=4)
    batch = probes(size=5, seed=4)
    data = epoch(made, batch)
    scores, logs = data["saliency_scores"], data.read_logs()
    assert (scores.weights, scores.weights_epoch, scores.tags("eval")) == ("epoch", 1, {})
    for key, values in scores.scores.items():
        assert values.shape == (4,) and logs[f"xai/{key}"] == pytest.approx(values.mean())
    scored_x = made.scoring["eval"]["x"]
    # the id is a digest of the pixels: the same images in another trace (another run of the seed)
    # get the same ids, in their order; other images other ids
    other = trace(methods=["vanilla"], metrics=["deletion_auc"], score_samples=4)
    again = epoch(other, {**batch, "x": batch["x"].copy()})["saliency_scores"]
    assert again.ids.tolist() == scores.ids.tolist() and len(set(scores.ids)) == 4
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in scores.ids)
    shifted = epoch(trace(metrics=["deletion_auc"], score_samples=4), {**batch, "x": batch["x"] + 1})
    assert not set(shifted["saliency_scores"].ids) & set(scores.ids)
    np.testing.assert_array_equal(made.scoring["eval"]["x"], scored_x)


def sorted_stream(classes=10, per_class=12, batch=16, seed=0):
    """Batches of a folder read in class order: every image of class 0, then of class 1, ..."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    images = rng.normal(size=(len(labels), *SHAPE)).astype(np.float32)
    return [{"x": images[i:i + batch], "y": labels[i:i + batch, None]}
            for i in range(0, len(labels), batch)]


def test_stratified_probes_of_a_sorted_stream_span_the_classes_whatever_its_order():
    made = trace(methods=["vanilla"], samples=5, probes="stratified")
    made.system.epoch_idx = 1
    stream = sorted_stream()
    for batch in stream:
        made.on_batch_end(Data(batch))
    made.on_epoch_end(Data())
    assert sorted(made.probes["eval"]["y"][:, 0]) == [0, 1, 2, 3, 4]  # first: all of class 0
    first = trace(methods=["vanilla"], samples=5)
    epoch(first, stream[0])
    assert set(first.probes["eval"]["y"][:, 0]) == {0}
    shuffled = StratifiedSample(5)
    for batch in reversed(stream):
        shuffled.add(batch, batch["y"][:, 0])
    np.testing.assert_array_equal(shuffled.result()["x"], made.probes["eval"]["x"])


def test_a_smaller_stratified_sample_is_part_of_a_larger_and_the_seed_draws_others():
    stream = sorted_stream(classes=3, per_class=30)
    samples = {(size, seed): StratifiedSample(size, seed) for size in (5, 40) for seed in (0, 1)}
    for batch in stream:
        for sample in samples.values():
            sample.add(batch, batch["y"][:, 0])
    ids = {key: set(image_ids(sample.result()["x"])) for key, sample in samples.items()}
    assert ids[(5, 0)] < ids[(40, 0)] and ids[(5, 1)] < ids[(40, 1)]
    assert ids[(5, 0)] != ids[(5, 1)]
    counts = np.bincount(samples[(40, 0)].result()["y"][:, 0])
    assert list(counts) == [14, 13, 13]
