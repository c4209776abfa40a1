"""precision=mixed_float16 / mixed_bfloat16: the model trains in 16 bits, and its saliency maps and
scores are those of a float32 model with the same weights (README "GPU machines")."""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras

import numpy as np
import pytest

import xaiexp as xe
from xaiexp.app.tasks.build import build_experiment
from xaiexp.app.cli import compose_config
from xaiexp.architecture.tensorflow import LeNet
from xaiexp.trace.xai import Saliency
from xaiexp.xai import SaliencyNet
from xaiexp.xai.metrics.scorecard import Scorecard

# The README's stated tolerance: maps and scores of a mixed-precision run, against a float32
# model holding the same weights. Explaining through the float16 layers themselves misses it by
# far (measured: up to 0.4 on [0, 1] display maps, 4-11 % of the raw gradients' norm).
MAP_TOLERANCE = 1e-4  # absolute, on display maps in [0, 1] and on scores
RAW_TOLERANCE = 1e-4  # relative to the raw maps' largest magnitude

SHAPE = (24, 24, 3)
RUN = ["dataset.n_train=32", "dataset.n_eval=32", f"dataset.image_size={SHAPE[0]}", "epochs=1",
       "log_steps=0", "tracking=none", "explain.samples=4", "explain.smoothing=3",
       "explain.integrating=[4,2]", "explain.methods=[vanilla,smoothgrad,integrated,gradcam]"]


def lenet(classes=4):
    return LeNet(input_shape=SHAPE, classes=classes)


def like(salnet, model):
    """A SaliencyNet of ``model`` with ``salnet``'s settings (seed, output, noise range)."""
    return SaliencyNet(model, salnet.model_inputs, salnet.model_outputs, salnet.outputs,
                       chunk_size=salnet.engine.chunk_size, seed=salnet.seed, output=salnet.output,
                       noise_range=salnet.engine.noise_range)


@pytest.mark.parametrize("precision, compute, scaled", [("mixed_float16", "float16", True),
                                                        ("mixed_bfloat16", "bfloat16", False),
                                                        ("float32", "float32", False)])
def test_build_makes_the_model_in_the_precision(precision, compute, scaled):
    model = xe.build(lenet, "adam", precision=precision)
    assert [layer.compute_dtype for layer in model.layers] == [compute] * 7 + ["float32"]
    assert all(weight.dtype == "float32" for weight in model.weights)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert model(np.zeros((1, *SHAPE), np.float32)).dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="half"):
        xe.build(lenet, "adam", precision="half")
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_mixed_float16_trains_and_explains_as_float32_with_the_same_weights(tmp_path):
    cfg = compose_config([*RUN, "precision=mixed_float16"])
    estimator, model = build_experiment(cfg, str(tmp_path))
    initial = model.get_weights()
    eval_logs = estimator.fit()
    assert model.layers[0].compute_dtype == "float16"  # it trained in mixed precision
    assert np.isfinite(eval_logs["ce"]) and max(
        np.abs(after - before).max() for after, before in zip(model.get_weights(), initial)) > 1e-4

    (trace,) = [trace for trace in estimator.traces if isinstance(trace, Saliency)]
    reference = xe.build(lambda: lenet(model.output_shape[-1]), "adam")  # float32
    reference.set_weights(model.get_weights())
    probes = trace.probes["eval"]
    reference_net = like(trace.salnet, reference)
    ours, expected = (trace.method_set.explain(net, probes) for net in (trace.salnet, reference_net))
    assert list(ours) == list(expected)
    for column in list(ours)[1:]:
        if column.endswith(" raw"):
            scale = np.abs(expected[column]).max()
            np.testing.assert_allclose(ours[column], expected[column], atol=RAW_TOLERANCE * scale,
                                       rtol=0, err_msg=column)
        else:
            np.testing.assert_allclose(ours[column], expected[column], atol=MAP_TOLERANCE, rtol=0,
                                       err_msg=column)
    # the logged scores: the trace's, against the reference model's maps scored alike
    card = trace.scorecard
    reference_scores = Scorecard(
        card.metrics, reference_net, trace.method_set, card.mask_key, card.decoy,
        card.baselines["deletion_auc"], card.baselines["insertion_auc"], card.pointing_tolerance,
        card.floors, card.black).per_sample(probes, expected)
    for (column, metric), scores in trace.scorecard.per_sample(probes, ours).items():
        np.testing.assert_allclose(scores, reference_scores[column, metric], atol=MAP_TOLERANCE,
                                   err_msg=f"{column} {metric}")

    # the tolerance means something: through the float16 layers the maps miss it
    through_float16 = like(trace.salnet, model).get_masks(probes)["saliency"]
    assert np.abs(through_float16 - expected["saliency"]).max() > 10 * MAP_TOLERANCE
