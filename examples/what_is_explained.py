"""Probability or logit: what SmoothGrad and Integrated Gradients explain, measured.

    python -m xaiexp name=what_is_explained     # trains the default LeNet, saves its model
    python examples/what_is_explained.py \
        --model outputs/mlartifacts/what_is_explained/<run>/artifacts/model/model_best_accuracy.keras

Explains ``--images`` eval images of the default ``shapes`` data (seed 0, normalized as the
default pipeline does) with ``SaliencyNet(output=...)`` for both outputs, at the default
settings (SmoothGrad 25 samples, σ = 0.15 of the range; IG 100 steps from a uniform baseline),
and prints per output, as medians over the images:

- the share of images whose vanilla gradient is exactly 0 (a saturated softmax);
- the Pearson correlation of SmoothGrad's relevance with the squared vanilla gradient's (1: the
  noisy copies add nothing, SmoothGrad is squared vanilla), over the other images;
- the clean gradient's share of SmoothGrad's total relevance (1/25 if every copy counted the
  same);
- the share of noisy copies that keep the predicted class;
- relevance mass and pointing game of vanilla, SmoothGrad and IG on the object masks (means),
  and IG's completeness error.
"""

import argparse

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np

from xaiexp.dataset.data import shapes
from xaiexp.xai import SaliencyNet, integrated_gradients, smooth_grad, vanilla_gradient
from xaiexp.xai.masks import relevance
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])  # conf/dataset
SMOOTHING, SPREAD, STEPS, SEED = 25, 0.15, 100, 0


def eval_images(count):
    _, evaluation = shapes.load_data(n_train=1, n_eval=2000, seed=SEED)
    data = {key: values[:count] for key, values in evaluation.data.items()}
    data["x"] = ((data["x"] / 255.0 - MEAN) / STD).astype(np.float32)
    return data


def correlation(first, second):
    """(B,) Pearson correlation of each pair of maps; NaN where a map is flat (all 0)."""
    first, second = (m.reshape(len(m), -1) - m.reshape(len(m), -1).mean(1, keepdims=True)
                     for m in (first, second))
    norms = np.sqrt((first ** 2).sum(1) * (second ** 2).sum(1))
    return np.divide((first * second).sum(1), norms, out=np.full(len(norms), np.nan),
                     where=norms > 0)


def kept_class(model, images, classes, noise_range="batch"):
    """Share of noisy copies (SmoothGrad's draws) whose predicted class is the clean one's."""
    rng = np.random.default_rng(SEED)
    sigma = SPREAD * (images.max() - images.min())
    noisy = images[:, None] + sigma * rng.normal(size=(len(images), SMOOTHING - 1,
                                                      *images.shape[1:]))
    predicted = model.predict(noisy.reshape(-1, *images.shape[1:]).astype(np.float32),
                              batch_size=512, verbose=0).argmax(-1)
    return float((predicted.reshape(len(images), -1) == classes[:, None]).mean())


def measure(model, data, output):
    salnet = SaliencyNet(model, "x", "y_pred", seed=SEED, output=output)
    methods = {"vanilla": vanilla_gradient(), "smoothgrad": smooth_grad(SMOOTHING, SPREAD),
               "integrated": integrated_gradients(STEPS)}
    raw = salnet.explain(data, methods, raw=True, completeness=True)
    maps = {name: relevance(raw[name]) for name in methods}
    squared_vanilla = relevance(raw["vanilla"] ** 2)
    clean_share = (squared_vanilla.sum((1, 2, 3)) / SMOOTHING) / maps["smoothgrad"].sum((1, 2, 3))
    correlations = correlation(maps["smoothgrad"], squared_vanilla)
    row = {"images whose vanilla gradient is exactly 0 (share)": np.isnan(correlations).mean(),
           "SmoothGrad vs squared vanilla: median correlation": np.nanmedian(correlations),
           "clean gradient's share of SmoothGrad (median)": np.nanmedian(clean_share)}
    for name, map_ in maps.items():
        row[f"{name} relevance mass"] = relevance_mass(map_, data["mask"]).mean()
        row[f"{name} pointing game"] = pointing_game(map_, data["mask"]).mean()
    row["IG completeness error (median)"] = np.median(raw["integrated completeness"])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained .keras model of shapes")
    parser.add_argument("--images", type=int, default=200, help="eval images explained")
    args = parser.parse_args()
    model = keras.models.load_model(args.model)
    data = eval_images(args.images)
    classes = model.predict(data["x"], verbose=0).argmax(-1)
    print(f"{args.images} eval images, accuracy {float((classes == data['y']).mean()):.3f}; "
          f"noisy copies keeping the predicted class: "
          f"{kept_class(model, data['x'], classes):.3f}")
    rows = {output: measure(model, data, output) for output in ("probability", "logit")}
    print(f"\n| {'measure':<52} | probability | logit |\n|{'-' * 54}|-------------|-------|")
    for key in rows["probability"]:
        print(f"| {key:<52} | {rows['probability'][key]:11.3f} | {rows['logit'][key]:5.3f} |")


if __name__ == "__main__":
    main()
