"""Training throughput: xaiexp's Estimator vs Keras ``model.fit``, and MLflow's overhead.

    python benchmarks/train_throughput.py [--rounds 3]

Both trainers get the same LeNet (32x32x3, 10 classes), the same normalized data and batch size.
Rounds interleave the two so machine noise hits both; each round times the second epoch of a
fresh model (the first pays for tracing). The bar: Estimator >= 0.97 x the best Keras fit
(default compile, and jit_compile=False), at batch 32 and 128. Then whole default-experiment
runs of the default experiment with MLflow tracking on vs off, interleaved; bar: on <= 1.03 x off.
"""

import argparse
import contextlib
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import xaiexp as xe  # noqa: E402
from xaiexp.architecture.tensorflow import LeNet  # noqa: E402
from xaiexp.op.tensorop.loss import CrossEntropy  # noqa: E402
from xaiexp.op.tensorop.model import ModelOp, UpdateOp  # noqa: E402
from xaiexp.trace import Trace  # noqa: E402
from workers import print_devices  # noqa: E402  (benchmarks/workers.py)

SAMPLES = 8000


class EpochTimer(Trace):
    def __init__(self):
        super().__init__(mode="train")
        self.times = []

    def on_epoch_begin(self, data):
        self.start = time.perf_counter()

    def on_epoch_end(self, data):
        self.times.append(time.perf_counter() - self.start)


class KerasEpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def estimator_epoch(x, y, batch_size, precision="float32"):
    model = xe.build(lambda: LeNet(input_shape=(32, 32, 3)), "adam", precision=precision)
    network = xe.Network([ModelOp(model=model, inputs="x", outputs="y_pred"),
                          CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                          UpdateOp(model=model, loss_name="ce")])
    pipeline = xe.Pipeline(train_data=xe.dataset.NumpyDataset({"x": x, "y": y}), batch_size=batch_size, seed=0)
    timer = EpochTimer()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        xe.Estimator(pipeline, network, epochs=2, traces=[timer], log_steps=0).fit()
    return timer.times[1]


def keras_epoch(x, y, batch_size, jit_compile):
    model = LeNet(input_shape=(32, 32, 3))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    timer = KerasEpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=True, callbacks=[timer])
    return timer.times[1]


def throughput(rounds):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, SAMPLES)
    print(f"{'batch':>5} {'estimator':>10} {'fit(auto)':>10} {'fit(nojit)':>10}   paired ratio vs best fit (median)")
    for batch_size in (32, 128):
        rows = []
        for _ in range(rounds):
            ours = estimator_epoch(x, y, batch_size)
            auto = keras_epoch(x, y, batch_size, "auto")
            nojit = keras_epoch(x, y, batch_size, False)
            rows.append((ours, auto, nojit))
        steps = SAMPLES / batch_size
        ours, auto, nojit = (statistics.median(col) for col in zip(*rows))
        ratios = [min(a, n) / o for o, a, n in rows]
        print(f"{batch_size:>5} {steps / ours:>8.1f}/s {steps / auto:>8.1f}/s {steps / nojit:>8.1f}/s"
              f"   {statistics.median(ratios):.3f}  (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")


TRACKING_ENTRY_POINTS = {
    *(("mlflow_trace.py", name) for name in ("on_begin", "on_batch_end", "on_epoch_end", "on_end")),
    *(("run.py", name) for name in ("mlflow_run", "log_dict", "log_artifacts", "log_artifact")),
    ("runner.py", "git_commit")}


def profiled_share(cfg, run, label):
    """The time one tracked run spends in tracking code, as a share of the whole run: measured
    inside one run, so machine noise scales both alike (whole-run on/off ratios drift +-30 %
    here). Entry points only (the MLflow trace's hooks, the run's start/end, artifact logging),
    so no time is counted twice."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    start = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        profiler.runcall(run, cfg)
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    tracking = sum(entry[3] for (file, _, name), entry in stats.items()
                   if (os.path.basename(file), name) in TRACKING_ENTRY_POINTS)
    print(f"Tracking code inside one tracked run, {label} (cProfile, entry points): {tracking:.2f} s of "
          f"{total:.1f} s = {100 * tracking / total:.1f} %")


def tracking_overhead(rounds):
    from xaiexp.app.cli import compose_config
    from xaiexp.app.tasks.train import run

    os.environ["XAIEXP_HOME"] = tempfile.mkdtemp(prefix="xaiexp-bench-")

    def timed(tracking):
        cfg = compose_config([f"tracking={tracking}"])
        start = time.perf_counter()
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            run(cfg)
        return time.perf_counter() - start

    timed("mlflow")  # warm-up: imports mlflow, creates the SQLite store
    print()
    profiled_share(compose_config(["explain=none"]), run, "metrics, params, artifacts (explain=none)")
    profiled_share(compose_config([]), run, "the default experiment (+ a saliency figure per epoch)")
    pairs = [(timed("mlflow"), timed("none")) for _ in range(rounds)]
    ratios = [on / off for on, off in pairs]
    print(f"\nMLflow tracking on/off, the default experiment (5 epochs of shapes, saliency on): "
          f"median ratio {statistics.median(ratios):.3f} "
          f"(on {statistics.median(p[0] for p in pairs):.1f} s, off {statistics.median(p[1] for p in pairs):.1f} s; "
          f"rounds: {', '.join(f'{r:.3f}' for r in ratios)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_devices()
    throughput(args.rounds)
    tracking_overhead(args.rounds)


if __name__ == "__main__":
    main()
