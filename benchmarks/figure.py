"""Benchmark of painting the saliency figure (ImgData.paint_numpy), against an earlier version.

The figure of the default experiment: 5 probes x (label, prediction, input, overlay, 4 maps) of
32x32 images, painted at the end of every explained epoch. The earlier ImgData is read from git
(``--baseline``, default the commit before the self-explaining figures: no title, colour scale
or marks) and imported beside the current one; both paint the same columns, interleaved, and the
median per-repetition ratio is reported (this shared 2-core machine drifts). Bar: <= 1.3.

    python benchmarks/figure.py [--reps 30] [--baseline 7865c96]
"""

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xaiexp.util import img_data  # noqa: E402

CLASSES = ("circle", "ring", "square", "triangle", "cross")


def module_at(ref):
    """xaiexp/util/img_data.py as it was at git ``ref``, imported under another name."""
    source = subprocess.run(["git", "show", f"{ref}:xaiexp/util/img_data.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "img_data_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("img_data_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def saliency_figure(module, rng):
    """The default experiment's figure, built with ``module``'s ImgData and Overlay."""
    images = rng.random((5, 32, 32, 3), np.float32)
    maps = {name: rng.random((5, 32, 32), np.float32)
            for name in ("saliency", "Smoothed saliency", "Integrated saliency", "SmInt saliency")}
    labels = np.array([CLASSES[i] for i in rng.integers(0, 5, 5)])
    predictions = labels.copy()
    predictions[1] = "cross"
    figure = module.ImgData(y=labels, y_pred=predictions, x=images,
                            **{"x saliency": module.Overlay(images, maps["SmInt saliency"])}, **maps)
    if hasattr(figure, "title"):  # the self-explaining figure's extras
        figure.title = "eval · epoch 5/5 · accuracy 0.856"
        figure.checked = ("y", "y_pred")
    return figure


def seconds(figure):
    start = time.perf_counter()
    figure.paint_numpy()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--baseline", default="7865c96")
    args = parser.parse_args()
    baseline, rng = module_at(args.baseline), np.random.default_rng(0)
    figures = {"baseline": saliency_figure(baseline, rng), "current": saliency_figure(img_data, rng)}
    for figure in figures.values():
        seconds(figure)  # matplotlib's first-use costs (fonts, colormaps) paid once, untimed
    times = {name: [] for name in figures}
    for _ in range(args.reps):
        for name, figure in figures.items():
            times[name].append(seconds(figure))
    ratios = [now / before for now, before in zip(times["current"], times["baseline"])]
    for name, values in times.items():
        shape = figures[name].paint_numpy().shape
        print(f"{name:9s} {statistics.median(values) * 1e3:6.1f} ms  (median of {args.reps}; "
              f"{shape[1]}x{shape[0]} px)")
    ratio = statistics.median(ratios)
    print(f"current / baseline: {ratio:.2f} (bar <= 1.3: {'met' if ratio <= 1.3 else 'MISSED'})")


if __name__ == "__main__":
    main()
