"""The method and metric registry: read without TensorFlow, ordered, one rule for the settings a
method needs, and a new method is one new file in xaiexp/xai/methods/."""

import subprocess
import sys
import textwrap

import pytest

from tests.support.added_modules import added_modules
from xaiexp.xai import methods as methods_package
from xaiexp.xai.registry import (DEFAULT_METRICS, Problem, check_settings, default_methods,
                                 find_methods, mask_metric_names, method_names, metric_names)

BUILT_IN = ("vanilla", "smoothgrad", "integrated", "smint", "gradient_x_input", "vargrad",
            "gradcam", "occlusion")


def test_reading_the_registry_imports_no_tensorflow():
    script = textwrap.dedent("""
        import sys
        from xaiexp.xai.registry import check_settings, default_methods, method_names, metric_names
        from xaiexp.xai.method_set import MethodSet
        method_names(), metric_names(), default_methods(25, 100, 6)
        check_settings(method_names(), 25, 100, 6)
        MethodSet(method_names())
        print(sorted({"tensorflow", "keras"} & set(sys.modules)))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_names_come_in_column_order():
    assert method_names() == BUILT_IN
    assert metric_names() == ("relevance_mass", "pointing_game", "deletion_auc", "insertion_auc",
                              "road_morf", "road_lerf", "randomization", "randomization_ssim",
                              "completeness")
    assert DEFAULT_METRICS == ("relevance_mass", "pointing_game", "deletion_auc", "insertion_auc")
    assert mask_metric_names() == ("relevance_mass", "pointing_game")
    titles = [method.title.format("saliency") for method in find_methods(BUILT_IN).values()]
    assert titles == ["saliency", "Smoothed saliency", "Integrated saliency", "SmInt saliency",
                      "Gradient x Input saliency", "VarGrad saliency", "GradCAM saliency",
                      "Occlusion saliency"]


@pytest.mark.parametrize("methods, settings, problem", [
    (BUILT_IN, (1, 1, 1), None),
    (["vanilla", "gradient_x_input", "gradcam", "occlusion"], (0, 0, 0), None),
    (["vanilla", "smoothgrad"], (0, 5, 5), Problem("smoothing", "smoothgrad", 0)),
    (["vargrad"], (0, 5, 5), Problem("smoothing", "vargrad", 0)),
    (["integrated"], (5, 0, 5), Problem("steps", "integrated", 0)),
    (["smint"], (5, 0, 0), Problem("steps", "smint", 0)),
    (["smint", "smoothgrad"], (0, 5, -1), Problem("smint_samples", "smint", -1)),
])
def test_check_settings_names_the_first_unmet_need(methods, settings, problem):
    assert check_settings(methods, *settings) == problem


def test_problems_read_as_one_line():
    assert check_settings(["smint"], 1, 3, 0).message == "smint needs SmInt samples >= 1, got 0"
    with pytest.raises(ValueError, match=r"methods must be a non-empty list from \['vanilla'"):
        check_settings(["vanilla", "lime"], 1, 1, 1)
    with pytest.raises(ValueError, match="non-empty"):
        find_methods([])


@pytest.mark.parametrize("smoothing", [0, 3])
@pytest.mark.parametrize("steps", [0, 4])
@pytest.mark.parametrize("smint_samples", [0, 2])
def test_default_methods_are_fastestimators_that_the_settings_leave_on(smoothing, steps,
                                                                        smint_samples):
    expected = ["vanilla"] + ["smoothgrad"] * (smoothing > 0) + ["integrated"] * (steps > 0)
    expected += ["smint"] * (steps > 0 and smint_samples > 0)
    assert default_methods(smoothing, steps, smint_samples) == expected


SQUARED = '''
"""The squared gradient: a method added as this one file."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Term

METHOD = Gradients(name="squared_gradient", title="Squared {}", order=90, needs=("smoothing",),
                   recipe=lambda settings: (Term(squared=True),))
'''


@pytest.fixture
def extra_method(tmp_path, monkeypatch):
    """``write(name, source)`` adds a method module to the methods' package."""
    with added_modules(methods_package, tmp_path, monkeypatch) as add:
        yield add


def test_a_new_method_is_one_file(extra_method):
    import numpy as np
    import tensorflow as tf

    from xaiexp.xai.masks import to_masks
    from xaiexp.xai.method_set import MethodSet
    from xaiexp.xai.saliency import SaliencyNet
    from tests.trace.xai.test_saliency_trace import epoch, probes, small_cnn, trace

    extra_method("squared_gradient", SQUARED)
    assert method_names() == (*BUILT_IN, "squared_gradient")
    assert check_settings(["squared_gradient"], 0, 1, 1) == Problem("smoothing",
                                                                    "squared_gradient", 0)

    model = small_cnn()
    batch = probes(size=4)
    maps = MethodSet(["vanilla", "squared_gradient"]).explain(
        SaliencyNet(model, "x", "y_pred"), batch)
    images = tf.constant(batch["x"])
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = model(images)
        target = tf.reduce_max(outputs, axis=1)  # the predicted class's score
    gradients = tape.gradient(target, images).numpy()
    np.testing.assert_array_equal(maps["y_pred"], outputs.numpy().argmax(axis=1))
    np.testing.assert_allclose(maps["Squared saliency"], to_masks(gradients ** 2), atol=1e-5)

    figure = epoch(trace(methods=["squared_gradient", "vanilla"]), batch)["saliency"]
    assert list(figure)[4:] == ["Squared saliency", "saliency"]


def test_a_name_declared_twice_is_refused(extra_method):
    extra_method("vanilla_again", SQUARED.replace('"squared_gradient"', '"vanilla"'))
    with pytest.raises(ValueError, match="'vanilla' is declared twice"):
        method_names()


@pytest.mark.parametrize("overrides, expected", [
    ("explain.heavy_every=0", "explain.heavy_every: must be >= 1, got 0"),
    # score_every=1: a watched metric needs a value every epoch (the default scores eval at the end)
    ("explain.heavy_every=2 explain.score_every=1 "
     "traces.best_model_saver.metric=xai/smint_saliency/relevance_mass",
     "explain.heavy_every: must be 1 while traces.best_model_saver.metric is xai/smint_saliency/relevance_mass"),
    ("explain.heavy_every=2 explain.score_every=1 "
     "traces.best_model_saver.metric=xai/saliency/relevance_mass", None),  # not heavy
])
def test_heavy_every_is_checked_before_tensorflow(overrides, expected, home):
    from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line

    if expected is None:
        assert compose_config(overrides.split()).explain.heavy_every == 2
        return
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config(overrides.split())
    assert expected in error_line(error.value) and "\n" not in error_line(error.value)


def test_smint_and_occlusion_are_the_heavy_methods():
    from xaiexp.xai.registry import heavy_method_names, metric_key

    assert heavy_method_names() == ("smint", "occlusion")
    assert [metric_key(m) for m in heavy_method_names()] == ["smint_saliency", "occlusion_saliency"]
