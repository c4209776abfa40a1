"""What ROAD costs beside the other faithfulness metrics and the explaining itself.

One process, LeNet 32x32x3 (10 classes), ``IMAGES`` random normalized images, a random map per
image (all scores cost the same whatever the map). Interleaved repetitions of:

  (a) explaining the images with the four default methods (vanilla, SmoothGrad 25, IG 100,
      SmInt 6x100: 628 gradient passes an image), the work a scored image costs anyway;
  (b) deletion_auc and (c) insertion_auc of one map per image (16 steps, relative);
  (d) road (MoRF) of one map per image: 9 noisy linear imputations and forward passes;
  (e) the imputations of (d) alone (sparse solves), to show where ROAD's time goes.

Reported: medians of ms per image and map, and ROAD's ratio to each of the others per
repetition (ratios hold on this shared machine where absolute times drift). Usage:
    python benchmarks/road.py [--reps 5] [--images 20]
"""

import argparse
import statistics
import time

import workers  # benchmarks/workers.py: scripts run as python benchmarks/<name>.py

IMAGES = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--images", type=int, default=IMAGES)
    args = parser.parse_args()
    workers.print_devices()

    import numpy as np

    import xaiexp  # noqa: F401  (sets TensorFlow's environment first)
    from xaiexp.architecture.tensorflow import LeNet
    from xaiexp.xai import SaliencyNet
    from xaiexp.xai.method_set import MethodSet
    from xaiexp.xai.metrics.faithfulness import deletion_auc, insertion_auc
    from xaiexp.xai.metrics.ranking import pixel_ranks
    from xaiexp.xai.metrics.road import PERCENTAGES, impute, road

    model = LeNet(input_shape=(32, 32, 3), classes=10)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(args.images, 32, 32, 3)).astype(np.float32)
    maps = rng.random((args.images, 32, 32, 1))
    salnet = SaliencyNet(model, "x", "y_pred", seed=0)
    method_set = MethodSet(["vanilla", "smoothgrad", "integrated", "smint"], smoothing=25,
                           steps=100, smint_samples=6)
    predict = salnet.engine.predict
    classes = predict(images).argmax(-1)
    ranks = pixel_ranks(maps)

    def imputations():
        for image, rank in zip(images, ranks):
            for p in PERCENTAGES:
                impute(image, (rank < int(1024 * p / 100)).reshape(32, 32), 0.01, rng)

    work = {
        "explain (4 default methods)": lambda: method_set.explain(salnet, {"x": images}),
        "deletion_auc": lambda: deletion_auc(lambda x, training: predict(x), images, maps, classes),
        "insertion_auc": lambda: insertion_auc(lambda x, training: predict(x), images, maps, classes),
        "road (MoRF)": lambda: road(lambda x, training: predict(x), images, maps, classes),
        "  its imputations alone": imputations,
    }
    for run in work.values():
        run()  # traces the compiled functions
    times = {name: [] for name in work}
    for _ in range(args.reps):
        for name, run in work.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) / args.images * 1e3)
    print(f"\nROAD's cost, LeNet 32x32x3, {args.images} images, medians of {args.reps} "
          f"interleaved repetitions\n")
    print(f"{'':32}{'ms per image':>14}{'road / this':>14}")
    for name, spent in times.items():
        ratio = statistics.median(r / s for r, s in zip(times["road (MoRF)"], spent))
        print(f"{name:32}{statistics.median(spent):>14.1f}{ratio:>14.2f}")


if __name__ == "__main__":
    main()
