"""Many runs logging at once: N processes, each one xaiexp run that logs what a training run logs
(a batch of metrics per step, a stepped figure now and then, tags) through xaiexp's tracking
layer (``mlflow_run`` and the run's Outbox, as the MLflow trace does), against each tracking URI
given; then every run is read back and anything missing is listed.

    python benchmarks/tracking_load.py http://127.0.0.1:5000          # a server (README "Team setup")
    python benchmarks/tracking_load.py sqlite:////tmp/load/mlflow.db  # the embedded store's kind

Prints, per URI: runs/min (runs over the wall time from the first run's start to the last one's
end), the p50/p95 latency of one metric batch, one figure and one tag call, and what was lost
(metric values, figures, tags). The stores are compared in one invocation, side by side.
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

EXPERIMENT = "tracking-load"


def worker(uri, index, steps, keys, figure_every, tags):
    """One run: ``steps`` metric batches of ``keys`` values, a figure every ``figure_every``
    steps, ``tags`` tags; prints its run id, start, end and the latency of each call (s)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from xaiexp.tracking import TrackingTarget, mlflow_run
    from xaiexp.tracking.outbox import Outbox

    image = (np.random.default_rng(index).random((64, 64, 3)) * 255).astype(np.uint8)
    latency = {"metrics": [], "figure": [], "tag": []}

    def timed(kind, call):
        start = time.perf_counter()
        call()
        latency[kind].append(time.perf_counter() - start)

    started = time.time()
    with mlflow_run(TrackingTarget(uri), EXPERIMENT, run_name=f"load {index}", params={"index": index}) as run:
        run_id, outbox, client = run.info.run_id, Outbox.of(run.info.run_id), MlflowClient(uri)
        for step in range(steps):
            now = int(time.time() * 1000)
            values = [Metric(f"train/m{k}", float(index * 1000 + step + k / 100), now, step) for k in range(keys)]
            timed("metrics", functools.partial(outbox.send_metrics, values))
            if step % figure_every == 0:
                timed("figure", functools.partial(outbox.call, functools.partial(
                    client.log_image, run_id, image, key="eval/figure", step=step)))
            if step < tags:
                timed("tag", functools.partial(outbox.set_tags, {f"load.tag{step}": f"{index}-{step}"}))
    print(json.dumps({"run_id": run_id, "start": started, "end": time.time(), "latency": latency}))


def load(uri, runs=8, steps=100, keys=10, figure_every=10, tags=10, timeout=900):
    """Start ``runs`` worker processes against ``uri`` at once; their reports, and what the store
    misses of what they logged."""
    from xaiexp.tracking import TrackingTarget

    TrackingTarget(uri).ensure_store()  # an embedded store is created once, before the crowd
    command = [sys.executable, __file__, "--worker", uri, str(steps), str(keys), str(figure_every), str(tags)]
    processes = [subprocess.Popen([*command, str(index)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for index in range(runs)]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        if process.returncode:
            raise RuntimeError(f"a load worker failed: {err[-3000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports, missing(uri, reports, steps, keys, figure_every, tags)


def missing(uri, reports, steps, keys, figure_every, tags):
    """What the store lacks of what the workers logged: a list of descriptions (empty: nothing)."""
    from mlflow import MlflowClient

    client, lost = MlflowClient(uri), []
    figures = len(range(0, steps, figure_every))
    for report in sorted(reports, key=lambda r: r["run_id"]):
        run = client.get_run(report["run_id"])
        if run.info.status != "FINISHED":
            lost.append(f"run {run.info.run_id} is {run.info.status}")
        for k in range(keys):
            history = client.get_metric_history(run.info.run_id, f"train/m{k}")
            if sorted(m.step for m in history) != list(range(steps)):
                lost.append(f"run {run.info.run_id} train/m{k}: {len(history)} of {steps} steps")
        stored = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        if len([p for p in stored if p.endswith(".png")]) != figures:
            lost.append(f"run {run.info.run_id}: {len(stored)} image files for {figures} figures")
        missing_tags = [t for t in range(min(tags, steps)) if f"load.tag{t}" not in run.data.tags]
        if missing_tags:
            lost.append(f"run {run.info.run_id}: tags {missing_tags} missing")
    return lost


def summary(reports):
    """runs/min and latency percentiles (ms) of a load's reports."""
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    row = {"runs_per_min": len(reports) / wall * 60, "wall_s": wall}
    for kind in ("metrics", "figure", "tag"):
        values = np.concatenate([r["latency"][kind] for r in reports]) * 1000
        row[f"{kind}_p50_ms"], row[f"{kind}_p95_ms"] = np.percentile(values, [50, 95])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("uris", nargs="*", help="tracking URIs (default: a fresh SQLite store in /tmp)")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    uris = args.uris or [f"sqlite:///{tempfile.mkdtemp(prefix='xaiexp-load-')}/mlflow.db"]
    print(f"{args.runs} runs at once, {args.steps} steps x 10 metrics, a figure every 10 steps, "
          f"10 tags each; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'store':<40} {'runs/min':>8} {'metrics p50/p95 ms':>19} {'figure p50/p95 ms':>18} "
          f"{'tag p50/p95 ms':>15}  lost")
    for uri in uris:
        reports, lost = load(uri, runs=args.runs, steps=args.steps)
        row = summary(reports)
        print(f"{uri[:40]:<40} {row['runs_per_min']:>8.1f} {row['metrics_p50_ms']:>8.0f}/{row['metrics_p95_ms']:<10.0f}"
              f"{row['figure_p50_ms']:>8.0f}/{row['figure_p95_ms']:<9.0f}{row['tag_p50_ms']:>6.0f}/"
              f"{row['tag_p95_ms']:<8.0f} {len(lost)}")
        for line in lost[:10]:
            print(f"  lost: {line}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        uri, steps, keys, figure_every, tags, index = sys.argv[2:8]
        worker(uri, int(index), int(steps), int(keys), int(figure_every), int(tags))
    else:
        main()
