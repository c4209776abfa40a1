"""How many images does it take to tell two runs apart by an explanation metric?

    python examples/scoring_power.py [--epochs 5] [--images 400] [--train-size 8000]
                                     [--output probability|logit]

Trains two LeNets on ``shapes`` that differ only in the learning rate (Adam 1e-3 and 3e-4,
cosine decay over the run, as the default experiment), normalized as the default pipeline. Both
explain the same class-stratified eval images (``StratifiedSample``, what the Saliency trace's
``score_samples`` takes), and for the first n = 5, 25, 100 and all of them it prints per
method the relevance mass of each run as mean ± 1.96·se, the paired difference with its 95 %
interval, and the paired t-test's p-value (``scipy.stats.ttest_rel``): the same images in both
runs make the comparison paired.
"""

import argparse

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np
from scipy.stats import ttest_rel

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.dataset.data import shapes
from xaiexp.xai import SaliencyNet, integrated_gradients, smooth_grad, vanilla_gradient
from xaiexp.xai.masks import relevance
from xaiexp.xai.metrics.localization import relevance_mass
from xaiexp.xai.stratified import StratifiedSample

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])  # conf/dataset
SEED, RATES, BATCH = 0, (1e-3, 3e-4), 32
METHODS = {"vanilla": vanilla_gradient(), "smoothgrad": smooth_grad(25),
           "integrated": integrated_gradients(100)}


def normalized(data):
    return {**data, "x": ((data["x"] / 255.0 - MEAN) / STD).astype(np.float32)}


def fit(train, rate, epochs):
    keras.utils.set_random_seed(SEED)
    model = LeNet(input_shape=train["x"].shape[1:], classes=len(shapes.CLASSES))
    steps = epochs * len(train["x"]) // BATCH
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(rate, steps)),
                  "sparse_categorical_crossentropy")
    model.fit(train["x"], train["y"], batch_size=BATCH, epochs=epochs, verbose=0)
    return model


def scoring_set(evaluation, size):
    sample = StratifiedSample(size)
    for start in range(0, len(evaluation["x"]), BATCH):  # as the eval batches arrive
        batch = {key: values[start:start + BATCH] for key, values in evaluation.items()}
        sample.add(batch, batch["y"])
    return sample.result()


def interval(scores):
    return f"{scores.mean():.3f} ± {1.96 * scores.std(ddof=1) / np.sqrt(len(scores)):.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--images", type=int, default=400, help="scoring-set size")
    parser.add_argument("--train-size", type=int, default=8000, help="training images per model")
    parser.add_argument("--output", choices=["probability", "logit"], default="probability")
    args = parser.parse_args()
    train, evaluation = (normalized(split.data)
                         for split in shapes.load_data(n_train=args.train_size, seed=SEED))
    scored = scoring_set(evaluation, args.images)
    scores = {}  # (rate, method) -> (images,) relevance mass
    for rate in RATES:
        model = fit(train, rate, args.epochs)
        accuracy = (model.predict(evaluation["x"], verbose=0).argmax(-1) == evaluation["y"]).mean()
        print(f"Adam {rate:g}: eval accuracy {accuracy:.3f}")
        salnet = SaliencyNet(model, "x", "y_pred", seed=SEED, output=args.output)
        maps = salnet.explain(scored, METHODS, raw=True)
        for method in METHODS:
            scores[rate, method] = relevance_mass(relevance(maps[method]), scored["mask"])
    first, second = RATES
    print(f"\nrelevance mass ({args.output}), the same class-stratified eval images in both runs\n")
    print(f"| method | n | Adam {first:g} | Adam {second:g} | paired difference | p (paired t) |")
    print("|---|---|---|---|---|---|")
    for method in METHODS:
        total = len(scored["x"])
        for n in [n for n in (5, 25, 100) if n < total] + [total]:
            a, b = scores[first, method][:n], scores[second, method][:n]
            p = ttest_rel(a, b).pvalue
            print(f"| {method} | {n} | {interval(a)} | {interval(b)} | {interval(a - b)} | "
                  f"{p:.2g} |")


if __name__ == "__main__":
    main()
