"""Explanation quality as numbers on the shapes dataset (its object masks are the ground truth).

    python examples/explanation_quality.py [--epochs 4] [--probes 200]

Trains the seed's LeNet (adam 1e-3, batch 32, x / 255) on shapes, then scores every saliency
method on eval probes: relevance mass and pointing game against the object mask, deletion and
insertion AUC (deletion to black and to a blurred copy). It then trains on the shortcut (decoy) variant and reports how much relevance the
decoy patch draws against the object, and the train/eval accuracy gap the shortcut causes.
"""

import argparse
import time

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
import keras
import numpy as np

from xaiexp.architecture.tensorflow import LeNet
from xaiexp.dataset.data import shapes
from xaiexp.xai import SaliencyNet, integrated_gradients, smooth_grad, vanilla_gradient
from xaiexp.xai.metrics import deletion_auc, insertion_auc, pointing_game, relevance_mass


def train(shortcut, epochs, seed=0):
    """A LeNet fitted on shapes; returns it with (train, eval) arrays scaled to [0, 1]."""
    keras.utils.set_random_seed(seed)
    splits = [split.data for split in shapes.load_data(seed=seed, shortcut=shortcut)]
    for data in splits:
        data["x"] = data["x"].astype(np.float32) / 255
    model = LeNet(input_shape=(32, 32, 3), classes=len(shapes.CLASSES))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(splits[0]["x"], splits[0]["y"], batch_size=32, epochs=epochs, verbose=0)
    return model, splits


def accuracy(model, data):
    return float((model.predict(data["x"], batch_size=256, verbose=0).argmax(-1)
                  == data["y"]).mean())


def maps(model, probes):
    """{method name: (B, H, W, 1) masks} of the predicted class, every method on the probes."""
    net = SaliencyNet(model, "x", "y_pred", seed=0)
    batch = {"x": probes}
    found = net.explain(batch, {"vanilla": vanilla_gradient(), "smoothgrad": smooth_grad(25),
                                "integrated": integrated_gradients(25)})
    found.pop("y_pred")
    found["grad_x_input"] = net.get_gradient_x_input_masks(batch)["saliency"]
    found["vargrad"] = net.get_vargrad_masks(batch, 25)["saliency"]
    found["gradcam"] = net.get_gradcam_masks(batch)["saliency"]
    found["occlusion"] = net.get_occlusion_masks(batch, patch=4, stride=2)["saliency"]
    found["random"] = np.random.default_rng(0).uniform(size=found["vanilla"].shape)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()

    start = time.perf_counter()
    model, (train_data, eval_data) = train(False, args.epochs)
    probes, masks = eval_data["x"][:args.probes], eval_data["mask"][:args.probes]
    print(f"shapes: train acc {accuracy(model, train_data):.3f}, "
          f"eval acc {accuracy(model, eval_data):.3f} ({time.perf_counter() - start:.0f} s)")
    print(f"mask area fraction (a uniform map's relevance mass): {masks.mean():.3f}")
    print(f"{'method':14} {'mass':>6} {'point':>6} {'del(0)':>7} {'del(blur)':>9} "
          f"{'ins(blur)':>9}")
    for name, found in maps(model, probes).items():
        print(f"{name:14} {relevance_mass(found, masks).mean():6.3f} "
              f"{pointing_game(found, masks).mean():6.3f} "
              f"{deletion_auc(model, probes, found).mean():7.3f} "
              f"{deletion_auc(model, probes, found, baseline='blur').mean():9.3f} "
              f"{insertion_auc(model, probes, found).mean():9.3f}")

    model, (train_data, eval_data) = train(True, args.epochs)
    probes = eval_data["x"][:args.probes]
    train_accuracy, eval_accuracy = accuracy(model, train_data), accuracy(model, eval_data)
    print(f"\nshapes shortcut=True: train acc {train_accuracy:.3f}, eval acc {eval_accuracy:.3f}"
          f", gap {train_accuracy - eval_accuracy:.3f}")
    decoy, objects = (eval_data[key][:args.probes] for key in ("decoy_mask", "mask"))
    print(f"area fractions: decoy {decoy.mean():.3f}, object {objects.mean():.3f}")
    print(f"{'method':14} {'decoy mass':>10} {'object mass':>11}")
    for name, found in maps(model, probes).items():
        print(f"{name:14} {relevance_mass(found, decoy).mean():10.3f} "
              f"{relevance_mass(found, objects).mean():11.3f}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
