"""Explanation quality in numbers: the evidence behind the README's claims, as three tables.

    python examples/explanation_quality.py [--epochs 5] [--probes 100] [--train-size 8000]
                                           [--output probability|logit]

Trains the seed's LeNet (adam 1e-3, batch 32, x / 255, seed 0) on plain ``shapes``, whose object
masks are the ground truth, and on ``shapes(shortcut=True)``, where a black-and-white patch
codes the class in train and eval alike. Then:

1. Localization and faithfulness (plain model, eval probes): per method, relevance mass and
   pointing game against the object mask, deletion AUC (pixels blacked out, most relevant
   first) and insertion AUC (pixels restored onto a blurred copy), both relative to the clean
   image's score, and ROAD (pixels removed by noisy linear imputation, most or least relevant
   first: the share of removals the prediction survives), each as its mean and 95 % interval
   (``statistics.score_interval``: exact for 0/1 scores, Student-t for the others); a constant
   map and a uniform random map are the floors.

Every score is of the raw relevance (|attributions| summed over channels), not of the display
masks; ``--output`` chooses what the gradient methods and Grad-CAM explain (``SaliencyNet``).
2. Sanity check (Adebayo et al., 2018): Spearman correlation and SSIM of each method's maps with
   the maps of the same model once its top layer, then all its layers, are re-initialized, on
   the pixels the model can see. The input image itself ignores the weights: it stays at 1,
   the failing score; two independent random maps are the floor (0).
3. Shortcut check, with a control: the shortcut eval split is halved into eval (patch coded)
   and test (patches repainted with random classes' patterns), as ``experiment=
   shortcut_detection`` does. On the same test images, the shortcut model's maps are compared
   with those of the plain model, which never saw a patch: what lands on the patch by chance.

Everything is seeded: a rerun prints the same numbers (on the same machine). A few minutes on
two busy CPU cores (ROAD's imputations are most of it); ``--epochs 1 --probes 8 --train-size
500`` is a smoke test.
"""

import argparse
import time

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.dataset.data import shapes
from xaiexp.xai import (SaliencyNet, gradient_x_input, integrated_gradients, smooth_grad,
                        vanilla_gradient)
from xaiexp.xai.masks import relevance
from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
from xaiexp.xai.metrics.localization import pointing_game, relevance_mass
from xaiexp.xai.metrics.randomization import cascading_randomization, rank_correlation
from xaiexp.xai.metrics.road import road
from xaiexp.xai.metrics.ssim import structural_similarity
from xaiexp.xai.statistics import score_interval, shown

SEED = 0
GRADIENT_METHODS = {"Vanilla gradient": vanilla_gradient(), "SmoothGrad (25)": smooth_grad(25),
                    "Integrated Gradients (100)": integrated_gradients(100),
                    "Gradient x Input": gradient_x_input()}
VARGRAD, GRADCAM, OCCLUSION = "VarGrad (25)", "Grad-CAM", "Occlusion (4, stride 2)"
CONSTANT_FLOOR, RANDOM_FLOOR = "constant map (floor)", "uniform random map (floor)"
SANITY_PROBES = 20  # the cascade explains every probe once per randomized layer


def load(shortcut, train_size):
    """``{split: {key: array}}`` with images in [0, 1]. With ``shortcut``, eval is halved into eval
    and a test split whose patches no longer tell the class, as the runner does."""
    train, evaluation = shapes.load_data(n_train=train_size, seed=SEED, shortcut=shortcut)
    splits = {"train": train, "eval": evaluation}
    if shortcut:
        splits["test"] = evaluation.split(0.5, seed=SEED)
        shapes.break_shortcut(splits["test"], seed=SEED)
    return {name: {**split.data, "x": split.data["x"].astype(np.float32) / 255}
            for name, split in splits.items()}


def fit_lenet(data, epochs):
    keras.utils.set_random_seed(SEED)
    model = LeNet(input_shape=data["x"].shape[1:], classes=len(shapes.CLASSES))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(data["x"], data["y"], batch_size=32, epochs=epochs, verbose=0)
    return model


def accuracy(model, data):
    predicted = model.predict(data["x"], batch_size=256, verbose=0).argmax(-1)
    return float((predicted == data["y"]).mean())


def explain(model, images, output, classes=None, gradients_only=False):
    """``{method: (B, H, W, 1) raw relevance}`` (|attributions| summed over channels, not the
    display masks' clipped normalization) of ``classes`` (default: the predicted ones), of the
    ``output`` ("probability" or "logit"). Seeded, so noise and baselines are the same whichever
    model is explained."""
    salnet = SaliencyNet(model, "x", "y_pred", seed=SEED,
                         target="predicted" if classes is None else "y", output=output)
    batch = {"x": images, "y": classes}
    maps = salnet.explain(batch, GRADIENT_METHODS, raw=True)
    del maps["y_pred"]
    maps[VARGRAD] = salnet.get_vargrad_masks(batch, 25, raw=True)["saliency"]
    maps[GRADCAM] = salnet.get_gradcam_masks(batch, raw=True)["saliency"]
    if not gradients_only:
        maps[OCCLUSION] = salnet.get_occlusion_masks(batch, patch=4, stride=2,
                                                     raw=True)["saliency"]
    maps = {method: relevance(attributions) for method, attributions in maps.items()}
    if not gradients_only:
        maps[CONSTANT_FLOOR] = np.ones_like(maps[GRADCAM])
        maps[RANDOM_FLOOR] = np.random.default_rng(SEED).uniform(size=maps[GRADCAM].shape)
    return maps


def print_table(title, header, rows, notes=()):
    """A Markdown table, padded so it also reads as plain text, and the notes that frame it."""
    rows = [[label, *(v if isinstance(v, str) else f"{v:.3f}" for v in values)]
            for label, *values in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n### {title}\n")
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]
        print("| " + " | ".join(cells) + " |")
    print("", *notes, sep="\n")


def interval(scores):
    """"mean [low, high]": the mean of ``scores`` and its 95 % interval, as ``xaiexp report``
    shows them; with the count of undefined (NaN) scores, if any."""
    estimate = score_interval(scores)
    undefined = int(np.isnan(scores).sum())
    text = shown(*estimate[:3])
    return f"{text} ({undefined} NaN)" if undefined else text


def localization_and_faithfulness(model, probes, output):
    """Table 1: does each map point at the object, and does the score follow its ranking?"""
    images, masks = probes["x"], probes["mask"]
    rows = [(name, *map(interval, (relevance_mass(maps, masks), pointing_game(maps, masks),
                                   deletion_auc(model, images, maps),
                                   insertion_auc(model, images, maps),
                                   road(model, images, maps, order="morf"),
                                   road(model, images, maps, order="lerf"))))
            for name, maps in explain(model, images, output).items()]
    print_table(f"Table 1: localization and faithfulness (plain model, {len(images)} eval probes, "
                f"{output})",
                ["method", "relevance mass ↑", "pointing game ↑", "deletion AUC ↓",
                 "insertion AUC ↑", "ROAD MoRF ↓", "ROAD LeRF ↑"], rows,
                [f"object mask area fraction (a uniform map's relevance mass): {masks.mean():.3f}",
                 "deletion blacks pixels out, insertion restores them onto a blurred copy "
                 "(16 steps, most relevant first; areas relative to the clean image's score); "
                 "ROAD imputes 10 %, 20 %, ..., 90 % of the pixels"])


def sanity_check(model, images, output):
    """Table 2: maps of a model losing its weights must change. Every method's maps (and the
    input itself) are stacked along the batch axis, so one cascade serves all; each method is
    compared on its own visible pixels. The trained model's classes are explained throughout."""
    classes = model.predict(images, verbose=0).argmax(-1)
    names = [*GRADIENT_METHODS, VARGRAD, GRADCAM, "input image (ignores the weights)"]

    def stacked_maps(cascaded_model):
        maps = explain(cascaded_model, images, output, classes, gradients_only=True)
        return np.concatenate([*maps.values(), images.sum(-1, keepdims=True)])

    measures = {"Spearman": rank_correlation, "SSIM": structural_similarity}

    def per_method(trained, randomized, visible):  # (measures, maps): each method on its own pixels
        return np.stack([np.concatenate([measure(t, r) for t, r in zip(
            np.split(trained, len(names)), np.split(randomized, len(names)))])
            for measure in measures.values()])

    keras.utils.set_random_seed(SEED)  # the re-initialized weights
    cascade = list(cascading_randomization(model, stacked_maps, per_method).items())
    (top_layer, after_top), (_, after_all) = cascade[0], cascade[-1]
    floors = np.random.default_rng(SEED).random((2, *images.shape[:3], 1))
    columns, rows = [], [[name] for name in [*names, "two random maps (floor)"]]
    for index, (label, measure) in enumerate(measures.items()):
        columns += [f"{label}, top layer ({top_layer})", f"{label}, all {len(cascade)} layers"]
        for row, top, every in zip(rows, *(c[index].reshape(len(names), len(images)) for c in (
                after_top, after_all))):
            row += [interval(top), interval(every)]
        rows[-1] += [interval(measure(*floors))] * 2
    print_table(f"Table 2: sanity check (plain model, {len(images)} eval probes)",
                ["method", *columns], rows,
                ["similarity with the trained model's maps on the pixels some map reaches (1: "
                 "the map ignores the weights)"])


def shortcut_check(models, splits, probes, output):
    """Table 3: the shortcut model's maps against the control's on the same test images."""
    test = {key: values[:probes] for key, values in splits["test"].items()}
    decoy, objects = test["decoy_mask"], test["mask"]
    scores = [{method: tuple(np.nanmean(score) for score in (  # NaN: all-zero maps, left out
                   relevance_mass(maps, decoy), pointing_game(maps, decoy),
                   relevance_mass(maps, objects)))
               for method, maps in explain(model, test["x"], output).items()}
              for model in models.values()]
    shortcut, control = scores
    rows = [(method, *(f"{s:.3f} / {c:.3f}" for s, c in zip(shortcut[method], control[method])))
            for method in shortcut]
    accuracies = [f"{name}: accuracy eval (patch coded) {accuracy(model, splits['eval']):.3f}, "
                  f"test (patch random) {accuracy(model, splits['test']):.3f}"
                  for name, model in models.items()]
    print_table(f"Table 3: shortcut check, shortcut model / control ({len(decoy)} test images)",
                ["method", "decoy mass", "decoy pointing game", "object relevance mass"], rows,
                [*accuracies, f"patch area fraction (a uniform map's decoy mass): "
                 f"{decoy.mean():.3f}; object area fraction {objects.mean():.3f}"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--probes", type=int, default=100, help="eval and test images explained")
    parser.add_argument("--train-size", type=int, default=8000, help="training images per model")
    parser.add_argument("--output", choices=["probability", "logit"], default="probability",
                        help="what the gradient methods and Grad-CAM explain")
    args = parser.parse_args()

    start = time.perf_counter()
    plain, with_patch = load(False, args.train_size), load(True, args.train_size)
    plain_model = fit_lenet(plain["train"], args.epochs)
    shortcut_model = fit_lenet(with_patch["train"], args.epochs)
    print(f"plain model: accuracy train {accuracy(plain_model, plain['train']):.3f}, "
          f"eval {accuracy(plain_model, plain['eval']):.3f} (epochs {args.epochs}, "
          f"{args.train_size} training images; both models trained in "
          f"{time.perf_counter() - start:.0f} s)")

    eval_probes = {key: values[:args.probes] for key, values in plain["eval"].items()}
    localization_and_faithfulness(plain_model, eval_probes, args.output)
    sanity_check(plain_model, plain["eval"]["x"][:SANITY_PROBES], args.output)
    shortcut_check({"shortcut model": shortcut_model, "control (plain model)": plain_model},
                   with_patch, args.probes, args.output)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
