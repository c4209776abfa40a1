"""Explanation quality on real training: maps of a model trained on `shapes` point at the shapes,
and the shortcut check catches a model that learnt a planted patch instead."""

import mlflow
import pytest

from conftest import run_cli
from xaiexp.dataset.data import shapes
from xaiexp.shortcut import accuracy_gap, describe


def only_run(home, experiment):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return run


@pytest.mark.slow
def test_a_trained_lenets_maps_put_their_mass_on_the_shapes(home):
    result = run_cli("name=localization", "dataset.n_train=4000", "dataset.n_eval=400",
                     "epochs=4", "explain.samples=16", "explain.methods=[smoothgrad,integrated]",
                     "explain.metrics=[relevance_mass,pointing_game]")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = only_run(home, "localization").data.metrics
    _, evaluation = shapes.load_data(n_train=1, n_eval=400, seed=0)
    area = evaluation.data["mask"].mean()  # what a uniform map scores, about a third
    assert metrics["test/accuracy"] >= 0.8
    for method in ("smoothed_saliency", "integrated_saliency"):
        assert metrics[f"test/xai/{method}/relevance_mass"] >= 1.5 * area  # measured 1.8x
        assert metrics[f"test/xai/{method}/pointing_game"] > area  # a random peak's odds


def test_the_verdict_pairs_each_decoy_score_with_its_object_score():
    logs = {"eval": {"accuracy": 0.99, "xai/saliency/decoy_mass": 0.5},
            "test": {"accuracy": 0.25, "ce": 3.0,
                     "xai/saliency/relevance_mass": 0.4, "xai/saliency/decoy_mass": 0.2,
                     "xai/saliency/pointing_game": 0.1, "xai/saliency/decoy_pointing_game": 0.7,
                     "xai/gradcam_saliency/decoy_mass": 0.3}}
    assert accuracy_gap(logs) == pytest.approx(0.74)
    assert describe(logs).splitlines() == [
        "shortcut check: eval accuracy 0.990 (patch coded as in train) vs test 0.250 (patch "
        "random): gap 0.740",
        "  saliency relevance mass: on the patch 0.20, on the object 0.40",
        "  saliency hottest pixel (pointing game): on the patch 0.70, on the object 0.10",
        "  gradcam_saliency relevance mass: on the patch 0.30",
    ]


PATCH_AREA = 1 / 16  # an 8x8 patch in a 32x32 image: what a uniform map puts on it


@pytest.mark.slow
def test_shortcut_detection_finds_the_patch_the_model_learnt(home):
    result = run_cli("experiment=shortcut_detection", "dataset.n_train=2000", "dataset.n_eval=400",
                     "epochs=3", "explain.methods=[vanilla,occlusion]")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "xaiexp: shortcut check: eval accuracy" in result.stderr
    metrics = only_run(home, "shortcut_detection").data.metrics
    # the model took the shortcut: perfect while the patch tells the class, near chance after
    assert metrics["eval/accuracy"] >= 0.9 and metrics["test/accuracy"] <= 0.5
    assert metrics["shortcut/accuracy_gap"] == pytest.approx(
        metrics["eval/accuracy"] - metrics["test/accuracy"])
    # and its explanations show it, far above what a uniform map puts on the patch
    assert metrics["test/xai/saliency/decoy_pointing_game"] >= 3 * PATCH_AREA
    assert metrics["test/xai/saliency/decoy_mass"] >= 1.4 * PATCH_AREA
    assert metrics["test/xai/occlusion_saliency/decoy_pointing_game"] >= 0.8
    assert metrics["test/xai/occlusion_saliency/decoy_mass"] >= 5 * PATCH_AREA  # measured 0.49
