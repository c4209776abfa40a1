"""Benchmark of the Saliency trace at the seed tutorial's settings, against two yardsticks.

The work: 5 probe images of LeNet(32x32x3, 10 classes), smoothing=25, integrating=(100, 6):
FastEstimator runs 1 + 25 + (1 + 100) + (1 + 5·100) = 628 gradient passes per image.

  (a) ours / the same 5·628 single-image input gradients at the model's best batched
      throughput (one compiled function, best batch size of 64..2048): bar <= 1.3;
  (b) one eager GradientTape call per noisy or interpolated sample, as FastEstimator does,
      each call on the 5-image batch; and (b') one image per call. Every eager call costs the
      same, so a quarter of the calls is timed and multiplied (by 4, and by 5 images in b'):
      bar >= 30x;
  (c) peak resident memory (ru_maxrss of a fresh process) at integrating 100, 400 and 1600:
      chunk_size, not the number of passes, bounds it;
  (d) all of (a)-(b) with oneDNN on and off (TF_ENABLE_ONEDNN_OPTS is read when TensorFlow is
      imported, so every configuration runs in its own subprocess);
  (e) metrics overhead: the trace with its default metrics (object masks given, as on shapes)
      and with each metric alone, against the trace without metrics: bar <= 1.3 for the
      defaults. (a)-(d) time the trace without metrics;
  (f) scoring-set cost: the trace with the default metrics scored on a scoring set of
      ``SCORE_SAMPLES`` images (``score_samples``; the probes are still painted), against the
      same trace scoring its probes: seconds per explained epoch and the ratio; and the same in
      an epoch that skips the heavy method (SmInt: ``heavy_every``), as most epochs do with
      ``heavy_every`` > 1.

Timings within a process are interleaved repetitions and reported as medians of per-repetition
ratios, because this shared 2-core machine drifts between runs. Usage:
    python benchmarks/saliency.py [--reps 5]
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import workers  # benchmarks/workers.py: scripts run as python benchmarks/<name>.py

SAMPLES, SMOOTHING, INTEGRATING = 5, 25, (100, 6)
STEPS, SMINT_SAMPLES = INTEGRATING
FE_PASSES_PER_IMAGE = 1 + SMOOTHING + (1 + STEPS) + (1 + (SMINT_SAMPLES - 1) * STEPS)
BATCH_SIZES = (64, 128, 256, 512, 1024, 2048)
EAGER_SUBSET = 4  # time 1/4 of the eager calls
SCORE_SAMPLES = (25, 100)


def build(integrating=INTEGRATING, smoothing=SMOOTHING, chunk_size=None):
    """LeNet, random normalized probes with random object masks, and a Saliency trace without
    metrics whose probes are already fixed."""
    import numpy as np

    import xaiexp  # noqa: F401  (sets TensorFlow's environment first)
    from xaiexp.architecture.tensorflow import LeNet
    from xaiexp.system import System
    from xaiexp.trace.xai import Saliency

    model = LeNet(input_shape=(32, 32, 3), classes=10)
    rng = np.random.default_rng(0)
    probes = {"x": rng.normal(size=(SAMPLES, 32, 32, 3)).astype(np.float32),
              "y": rng.integers(0, 10, size=(SAMPLES, 1)),
              "mask": (rng.random((SAMPLES, 32, 32, 1)) < 0.3).astype(np.uint8)}
    options = {"chunk_size": chunk_size} if chunk_size else {}
    trace = Saliency(model, "x", "y_pred", class_key="y", samples=probes, smoothing=smoothing,
                     integrating=integrating, seed=0, mask_key="mask", metrics=(), **options)
    trace.system = System(mode="eval")
    return model, probes, trace


def run_trace(trace):
    from xaiexp.util.data import Data

    start = time.perf_counter()
    trace.on_epoch_end(Data())
    return time.perf_counter() - start


def speed_worker(reps):
    import numpy as np
    import tensorflow as tf

    model, probes, trace = build()
    passes = SAMPLES * FE_PASSES_PER_IMAGE
    x = tf.constant(probes["x"])
    classes = tf.constant(np.argmax(model(x), axis=1))

    def input_gradient(points, targets):
        with tf.GradientTape() as tape:
            tape.watch(points)
            selected = tf.gather(model(points, training=False), targets, axis=1, batch_dims=1)
        return tape.gradient(selected, points)

    specs = [tf.TensorSpec((None, 32, 32, 3)), tf.TensorSpec((None,), tf.int64)]
    batched = tf.function(input_gradient, input_signature=specs)

    def time_batched(size):
        points = tf.random.normal((size, 32, 32, 3))
        targets = tf.zeros((size,), tf.int64)
        calls = math.ceil(passes / size)
        start = time.perf_counter()
        for _ in range(calls):
            batched(points, targets).numpy()
        return (time.perf_counter() - start) * passes / (calls * size)

    def time_eager(images, targets):
        """All FE_PASSES_PER_IMAGE eager calls on ``images``, extrapolated from a subset."""
        start = time.perf_counter()
        for _ in range(FE_PASSES_PER_IMAGE // EAGER_SUBSET):  # FastEstimator's way
            input_gradient(images + tf.random.normal(images.shape), targets).numpy()
        return (time.perf_counter() - start) * EAGER_SUBSET

    first_call = run_trace(trace)  # includes tracing the compiled functions
    for size in BATCH_SIZES:
        time_batched(size)  # warm up every shape
    by_size = {size: statistics.median(time_batched(size) for _ in range(3))
               for size in BATCH_SIZES}
    best = min(by_size, key=by_size.get)
    input_gradient(x, classes), input_gradient(x[:1], classes[:1])

    rows = []
    for _ in range(reps):
        ours = run_trace(trace)
        reference = time_batched(best)
        fe_batch = time_eager(x, classes)
        fe_single = time_eager(x[:1], classes[:1]) * SAMPLES
        rows.append((ours, reference, fe_batch, fe_single))
        print(f"  rep: ours {ours:.3f}s  batched {reference:.3f}s  eager/5-image call "
              f"{fe_batch:.2f}s  eager/1-image call {fe_single:.2f}s", file=sys.stderr)
    ours, reference, fe_batch, fe_single = zip(*rows)
    return {
        "passes": passes,
        "first_call_s": first_call,
        "ours_s": statistics.median(ours),
        "best_batch": best,
        "ms_per_gradient": 1e3 * statistics.median(reference) / passes,
        "reference_s": statistics.median(reference),
        "ratio": statistics.median(o / r for o, r in zip(ours, reference)),
        "fe_batch_s": statistics.median(fe_batch),
        "fe_batch_speedup": statistics.median(f / o for f, o in zip(fe_batch, ours)),
        "fe_batch_ceiling": statistics.median(f / r for f, r in zip(fe_batch, reference)),
        "fe_single_s": statistics.median(fe_single),
        "fe_single_speedup": statistics.median(f / o for f, o in zip(fe_single, ours)),
    }


def metrics_worker(reps):
    """Trace time with each metric setting over the time without metrics, interleaved. One
    trace serves all settings (its scorecard swapped), so all time the same compiled engine."""
    from xaiexp.xai.metrics.scorecard import Scorecard
    from xaiexp.xai.registry import DEFAULT_METRICS, metric_names

    _, _, trace = build()
    settings = {"defaults": DEFAULT_METRICS, **{name: (name,) for name in metric_names()}}
    cards = {label: Scorecard(metrics, trace.salnet, trace.method_set, mask_key="mask")
             for label, metrics in {"none": (), **settings}.items()}

    def timed(label):
        trace.scorecard = cards[label]
        return run_trace(trace)

    for label in cards:
        timed(label)  # traces the compiled functions
    pairs = {label: [] for label in settings}  # (without, with) per repetition
    for _ in range(reps):
        for label in settings:
            pairs[label].append((timed("none"), timed(label)))
        print(f"  rep: defaults / none {pairs['defaults'][-1][1] / pairs['defaults'][-1][0]:.2f}",
              file=sys.stderr)
    return {"bare_s": statistics.median(bare for times in pairs.values() for bare, _ in times),
            "ratios": {label: statistics.median(w / b for b, w in times)
                       for label, times in pairs.items()},
            "added_ms": {label: 1e3 * statistics.median(w - b for b, w in times)
                         for label, times in pairs.items()}}


def scoring_worker(reps):
    """Trace time with a scoring set of each size over the time scoring the probes alone,
    interleaved; the sets are random images with random masks, set as if collected."""
    import numpy as np

    from xaiexp.xai.metrics.scorecard import Scorecard
    from xaiexp.xai.registry import DEFAULT_METRICS

    _, probes, trace = build()
    trace.scorecard = Scorecard(DEFAULT_METRICS, trace.salnet, trace.method_set, mask_key="mask")
    rng = np.random.default_rng(1)
    sets = {size: {"x": rng.normal(size=(size, 32, 32, 3)).astype(np.float32),
                   "y": rng.integers(0, 10, size=(size, 1)),
                   "mask": (rng.random((size, 32, 32, 1)) < 0.3).astype(np.uint8)}
            for size in SCORE_SAMPLES}

    def timed(size, heavy=True):
        trace.scoring = {"eval": sets[size]} if size else {}
        # epoch 1 of 5 with heavy_every=2 is not a heavy epoch; epoch 0 of 1 is
        trace.heavy_every, trace.system.epoch_idx, trace.system.total_epochs = (
            (1, 0, 1) if heavy else (2, 1, 5))
        return run_trace(trace)

    for size in (0, *SCORE_SAMPLES):
        timed(size), timed(size, heavy=False)  # traces the compiled functions
    # (probes only, with the set, with the set but no heavy method) per repetition
    times = {size: [] for size in SCORE_SAMPLES}
    for _ in range(reps):
        for size in SCORE_SAMPLES:
            times[size].append((timed(0), timed(size), timed(size, heavy=False)))
    return {"probes_s": statistics.median(b for runs in times.values() for b, _, _ in runs),
            **{f"{name}seconds": {size: statistics.median(t[column] for t in runs)
                                  for size, runs in times.items()}
               for column, name in ((1, ""), (2, "light_"))},
            **{f"{name}ratios": {size: statistics.median(t[column] / t[0] for t in runs)
                                 for size, runs in times.items()}
               for column, name in ((1, ""), (2, "light_"))}}


def memory_worker(steps, chunk_size, smoothing):
    _, _, trace = build(integrating=(steps, 6) if steps else 0, smoothing=smoothing,
                        chunk_size=chunk_size)
    seconds = [run_trace(trace) for _ in range(2)]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"peak_mib": peak_kib / 1024, "seconds": seconds[-1]}


def in_subprocess(onednn, *args):
    return workers.in_subprocess(__file__, *args, env={"TF_ENABLE_ONEDNN_OPTS": str(onednn)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *values = args.worker
        worker = {"speed": speed_worker, "memory": memory_worker, "metrics": metrics_worker,
                  "scoring": scoring_worker}[kind]
        print(json.dumps(worker(*map(int, values))))
        return

    workers.print_devices()
    from xaiexp.xai.saliency import SaliencyNet
    import inspect

    default_chunk = inspect.signature(SaliencyNet).parameters["chunk_size"].default
    print(f"Saliency trace benchmark: LeNet 32x32x3, {SAMPLES} probes, smoothing={SMOOTHING}, "
          f"integrating={INTEGRATING} ({FE_PASSES_PER_IMAGE} FastEstimator passes per image); "
          f"os.cpu_count()={os.cpu_count()}; medians of {args.reps} interleaved repetitions\n")
    speed = {onednn: in_subprocess(onednn, "speed", args.reps) for onednn in (1, 0)}
    rows = [
        ("trace, first call (traces the graphs) [s]", "first_call_s", "{:.2f}"),
        ("trace, warm [s]", "ours_s", "{:.3f}"),
        ("best batch size of plain input gradients", "best_batch", "{}"),
        ("  ms per gradient at that size", "ms_per_gradient", "{:.3f}"),
        ("  5x628 gradients at that throughput [s]", "reference_s", "{:.3f}"),
        ("(a) ratio trace / best batched   (bar <= 1.3)", "ratio", "{:.2f}"),
        ("eager call per sample, 5-image calls (FE) [s]", "fe_batch_s", "{:.2f}"),
        ("(b) speed-up vs that               (bar >= 30)", "fe_batch_speedup", "{:.1f}x"),
        ("    ceiling: that / best batched gradients", "fe_batch_ceiling", "{:.1f}x"),
        ("eager call per sample and image [s] (1 image x5)", "fe_single_s", "{:.2f}"),
        ("(b') speed-up vs that              (bar >= 30)", "fe_single_speedup", "{:.1f}x"),
    ]
    print(f"{'':52}{'oneDNN on':>12}{'oneDNN off':>12}")
    for label, key, form in rows:
        print(f"{label:52}{form.format(speed[1][key]):>12}{form.format(speed[0][key]):>12}")

    print("\n(c) peak memory (ru_maxrss of a fresh process, oneDNN on; includes TensorFlow)")
    print(f"{'integrating':>12}{'smoothing':>10}{'chunk_size':>12}{'peak MiB':>10}{'trace s':>9}")
    for steps, smoothing, chunk in [(0, 0, default_chunk), (100, SMOOTHING, default_chunk),
                                    (400, SMOOTHING, default_chunk),
                                    (1600, SMOOTHING, default_chunk), (400, SMOOTHING, 256),
                                    (400, SMOOTHING, 4096)]:
        memory = in_subprocess(1, "memory", steps, chunk, smoothing)
        setting = f"({steps}, 6)" if steps else "0"
        print(f"{setting:>12}{smoothing:>10}{chunk:>12}{memory['peak_mib']:>10.0f}"
              f"{memory['seconds']:>9.2f}")

    print("\n(e) metrics overhead: trace time with metrics / without (oneDNN on)")
    overhead = in_subprocess(1, "metrics", args.reps)
    print(f"{'trace without metrics [s]':52}{overhead['bare_s']:>12.3f}")
    print(f"{'metrics':52}{'ratio':>12}{'added ms':>12}")
    for label, ratio in overhead["ratios"].items():
        bar = "   (bar <= 1.3)" if label == "defaults" else ""
        print(f"{label + bar:52}{ratio:>12.2f}{overhead['added_ms'][label]:>12.0f}")

    print("\n(f) scoring set: trace time per explained epoch, default metrics (oneDNN on)")
    scoring = in_subprocess(1, "scoring", args.reps)
    print(f"{'scoring the 5 probes [s]':52}{scoring['probes_s']:>12.3f}")
    print(f"{'score_samples':52}{'seconds':>12}{'ratio':>12}")
    for size, seconds in scoring["seconds"].items():
        print(f"{size:<52}{seconds:>12.2f}{scoring['ratios'][size]:>12.1f}")
        print(f"{f'{size}, SmInt not scored (an epoch heavy_every skips)':<52}"
              f"{scoring['light_seconds'][size]:>12.2f}{scoring['light_ratios'][size]:>12.1f}")


if __name__ == "__main__":
    main()

