"""Explanation quality on real training: maps of a model trained on `shapes` point at the shapes,
and the shortcut check catches a model that learnt a planted patch instead."""

import mlflow
import pytest

from tests.support.cli import run_cli
from xaiexp.dataset.data import shapes
from xaiexp.system import System
from xaiexp.trace.io import BestModelSaver
from xaiexp.trace.xai.weights import Weights, explained_weights


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


def test_test_weights_are_the_best_ones_only_when_the_saver_restored_them(tmp_path):
    model = object()
    saver = BestModelSaver(model=model, save_dir=str(tmp_path), metric="accuracy", save_best_mode="max",
                           load_best_final=True)
    saver.since_best, saver.model_path = 3, str(tmp_path / "model_best_accuracy.keras")
    system = System(mode="test", epoch_idx=5, traces=[saver])
    assert explained_weights(system, model) == Weights("final", 5)  # nothing saved: nothing restored
    (tmp_path / "model_best_accuracy.keras").write_bytes(b"")
    assert explained_weights(system, model) == Weights("best", 2, saver)
    assert explained_weights(system, object()) == Weights("final", 5)  # another model's saver
    system.mode = "eval"
    assert explained_weights(system, model) == Weights("epoch", 5)
    assert explained_weights(System(mode="test", epoch_idx=0), model) == Weights("loaded", 0)  # xaiexp explain


PATCH_AREA = 1 / 16  # an 8x8 patch in a 32x32 image: what a uniform map puts on it


@pytest.mark.slow
def test_shortcut_detection_finds_the_patch_the_model_learnt(home):
    result = run_cli("experiment=shortcut_detection", "dataset.n_train=2000", "dataset.n_eval=400",
                     "epochs=3", "explain.methods=[vanilla,occlusion]")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = only_run(home, "shortcut_detection").data.metrics
    # the model took the shortcut: perfect while the patch tells the class, near chance after
    assert metrics["eval/accuracy"] >= 0.9 and metrics["test/accuracy"] <= 0.5
    # the verdict is on the weights test used: the best-model saver's (best eval accuracy)
    tags = only_run(home, "shortcut_detection").data.tags
    assert tags["xaiexp.test_weights"] == "best"
    assert (f"shortcut check of the best weights (eval epoch {tags['xaiexp.test_weights_epoch']}, by "
            f"accuracy): RELIES ON THE SHORTCUT") in result.stderr
    assert tags["xaiexp.shortcut"] == "relies on the shortcut"
    assert metrics["test/shortcut/accuracy_gap"] == pytest.approx(
        metrics["eval/max_accuracy"] - metrics["test/accuracy"])
    assert metrics["test/shortcut/accuracy_gap_ci_low"] > 0
    # and its explanations show it, far above what a uniform map puts on the patch
    assert metrics["test/xai/saliency/decoy_pointing_game"] >= 3 * PATCH_AREA
    assert metrics["test/xai/saliency/decoy_mass"] >= 1.4 * PATCH_AREA
    assert metrics["test/xai/occlusion_saliency/decoy_pointing_game"] >= 0.8
    assert metrics["test/xai/occlusion_saliency/decoy_mass"] >= 5 * PATCH_AREA  # measured 0.49
