"""Benchmark of the Saliency trace on a pretrained-size model: MobileNetV2(weights=None) at
224x224x3, 10 classes, the trace's default methods (vanilla, smoothing=25,
integrating=(100, 6)), against the plain batched-gradient limit on the same machine.

  (a) trace time per explained image / (the input gradients those methods need per image x
      the time per gradient of one compiled tf.function at its best batch size among
      BATCH_SIZES): bar <= 1.3. Timed side by side in one process, alternating repetitions,
      for each ``chunk_size`` in --chunks; reported as medians of per-repetition ratios.
  (b) peak resident memory (ru_maxrss of a fresh process per setting) against chunk_size,
      with the resident memory before the trace (TensorFlow and the model) for reference. The
      engine cuts a call's rows into equal chunks, so "rows/call" can be below chunk_size.

A warm trace call on 2 probe images runs 1250 gradients (about a minute here), so the probe
count is 2, not the tutorial's 5; the ratio does not depend on it. The trace's default
chunk_size, 1024, is left out: at about 25 MiB a row here it would need some 16 GB. Usage:
    python benchmarks/saliency_224.py [--reps 3] [--probes 2] [--chunks 8 32] [--memory 32 512]
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

SHAPE, CLASSES = (224, 224, 3), 10
SMOOTHING, INTEGRATING = 25, (100, 6)
BATCH_SIZES = (8, 16, 32, 64)
REFERENCE_GRADIENTS = 256  # gradients per timing of the batched limit


def passes_per_image():
    """Rows (gradient passes) of one image in the engine's plan of the trace's default methods:
    the clean gradient is shared, so 1 + 24 + 100 + 5·100."""
    from xaiexp.xai import integrated_gradients, smooth_grad, smooth_integrated, vanilla_gradient
    from xaiexp.xai.plan import PassPlan

    steps, samples = INTEGRATING
    methods = {"vanilla": vanilla_gradient(), "smoothgrad": smooth_grad(SMOOTHING),
               "integrated": integrated_gradients(steps),
               "smint": smooth_integrated(samples, steps)}
    return PassPlan(methods, 1).num_rows


def build(probes, chunk_sizes):
    """The model, random raw-pixel probes, and one Saliency trace per chunk size (probes fixed,
    no metrics, a fixed seed) sharing that model."""
    import numpy as np

    import xaiexp  # noqa: F401  (sets TensorFlow's environment first)
    from xaiexp.architecture.tensorflow import MobileNetV2
    from xaiexp.system import System
    from xaiexp.trace.xai import Saliency

    model = MobileNetV2(SHAPE, CLASSES, weights=None)
    rng = np.random.default_rng(0)
    samples = {"x": rng.uniform(0, 255, (probes, *SHAPE)).astype(np.float32),
               "y": rng.integers(0, CLASSES, (probes, 1))}
    traces = {}
    for chunk_size in chunk_sizes:
        trace = Saliency(model, "x", "y_pred", class_key="y", samples=samples,
                         smoothing=SMOOTHING, integrating=INTEGRATING, chunk_size=chunk_size,
                         seed=0, metrics=())
        trace.system = System(mode="eval")
        traces[chunk_size] = trace
    return model, traces


def run_trace(trace):
    from xaiexp.util.data import Data

    start = time.perf_counter()
    trace.on_epoch_end(Data())
    return time.perf_counter() - start


def batched_gradient(model):
    """Seconds per input gradient of the predicted class's probability, for a batch size: one
    compiled call per batch, ``REFERENCE_GRADIENTS`` gradients timed."""
    import tensorflow as tf

    def input_gradient(points):
        with tf.GradientTape() as tape:
            tape.watch(points)
            outputs = model(points, training=False)
            selected = tf.reduce_max(outputs, axis=1)  # the predicted class's probability
        return tape.gradient(selected, points)

    compiled = tf.function(input_gradient, input_signature=[tf.TensorSpec((None, *SHAPE))])
    points = {size: tf.random.uniform((size, *SHAPE), 0, 255) for size in BATCH_SIZES}

    def seconds_per_gradient(size):
        calls = math.ceil(REFERENCE_GRADIENTS / size)
        start = time.perf_counter()
        for _ in range(calls):
            compiled(points[size]).numpy()
        return (time.perf_counter() - start) / (calls * size)

    return seconds_per_gradient


def speed_worker(reps, probes, *chunk_sizes):
    model, traces = build(probes, chunk_sizes)
    passes = passes_per_image()
    per_gradient = batched_gradient(model)
    first_call = {chunk: run_trace(trace) for chunk, trace in traces.items()}  # traces graphs
    for size in BATCH_SIZES:
        per_gradient(size)  # warm up every shape
    by_size = {size: statistics.median(per_gradient(size) for _ in range(2))
               for size in BATCH_SIZES}
    best = min(by_size, key=by_size.get)

    pairs = {chunk: [] for chunk in traces}  # (trace, limit) seconds per image, per repetition
    for _ in range(reps):
        for chunk, trace in traces.items():
            limit = per_gradient(best) * passes
            pairs[chunk].append((run_trace(trace) / probes, limit))
        print("  rep: " + "  ".join(f"chunk {chunk}: {times[-1][0]:.2f} s/image, limit "
                                    f"{times[-1][1]:.2f}" for chunk, times in pairs.items()),
              file=sys.stderr)

    return {
        "passes": passes,
        "ms_per_gradient": {size: 1e3 * s for size, s in by_size.items()},
        "best_batch": best,
        "limit_s": statistics.median(limit for times in pairs.values() for _, limit in times),
        "first_call_s": first_call,
        "ours_s": {chunk: statistics.median(ours for ours, _ in times)
                   for chunk, times in pairs.items()},
        "ratio": {chunk: statistics.median(ours / limit for ours, limit in times)
                  for chunk, times in pairs.items()},
    }


def memory_worker(probes, chunk_size):
    import psutil

    _, traces = build(probes, [chunk_size])
    rows = passes_per_image() * probes
    before_mib = psutil.Process().memory_info().rss / 2**20
    seconds = run_trace(traces[chunk_size])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"rows_per_call": math.ceil(rows / math.ceil(rows / chunk_size)),
            "before_mib": before_mib, "peak_mib": peak_kib / 1024, "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--chunks", type=int, nargs="*", default=[8, 32],
                        help="chunk sizes timed against the limit")
    parser.add_argument("--memory", type=int, nargs="*", default=[32, 128, 512],
                        help="chunk sizes whose peak memory is measured (about 25 MiB a row: "
                             "512 needs some 11 GB)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *values = args.worker
        worker = {"speed": speed_worker, "memory": memory_worker}[kind]
        print(json.dumps(worker(*map(int, values))))
        return

    workers.print_devices()
    print(f"Saliency trace, MobileNetV2(weights=None) {SHAPE}, {args.probes} probes, "
          f"smoothing={SMOOTHING}, integrating={INTEGRATING}; os.cpu_count()={os.cpu_count()}; "
          f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1 (xaiexp default)')}; medians of "
          f"{args.reps} alternating repetitions\n")
    if args.chunks:
        speed = workers.in_subprocess(__file__, "speed", args.reps, args.probes, *args.chunks)
        print(f"gradient passes per image (engine plan): {speed['passes']}")
        print("plain batched input gradient, ms each: " + ", ".join(
            f"batch {size}: {ms:.1f}" for size, ms in speed["ms_per_gradient"].items()))
        print(f"limit: {speed['passes']} x best ({speed['best_batch']}) = "
              f"{speed['limit_s']:.2f} s per image\n")
        print(f"{'chunk_size':>10}{'first call s':>14}{'s / image':>11}{'ratio (bar <= 1.3)':>20}")
        for chunk in map(str, args.chunks):
            print(f"{chunk:>10}{speed['first_call_s'][chunk]:>14.1f}{speed['ours_s'][chunk]:>11.2f}"
                  f"{speed['ratio'][chunk]:>20.2f}")
    if args.memory:
        print("\npeak memory (ru_maxrss of a fresh process; 'before' = TensorFlow + model; "
              "trace s includes tracing)")
        print(f"{'chunk_size':>10}{'rows/call':>11}{'before MiB':>12}{'peak MiB':>10}"
              f"{'trace s':>9}")
        for chunk in args.memory:
            memory = workers.in_subprocess(__file__, "memory", args.probes, chunk)
            print(f"{chunk:>10}{memory['rows_per_call']:>11}{memory['before_mib']:>12.0f}"
                  f"{memory['peak_mib']:>10.0f}{memory['seconds']:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
