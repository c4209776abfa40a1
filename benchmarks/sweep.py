"""Sweep wall time: a 4-job grid with 1 vs 2 joblib workers, and the per-job startup cost.

    python benchmarks/sweep.py [--rounds 2]

Each measurement is a real ``xaiexp -m`` subprocess into a fresh MLflow store. Rounds alternate
1 and 2 workers so machine noise hits both; the ratio is 1-worker time / 2-worker time.
The startup cost is the wall time of a job that trains almost nothing (32 images, one epoch,
no saliency): imports, store, run creation, model build.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

JOB = ["dataset.n_train=2000", "dataset.n_eval=500", "epochs=2", "explain.samples=2",
       "explain.smoothing=5", "explain.integrating=[10,2]"]
GRID = ["schedule.init_lr=1e-3,3e-4", "model.width=1,2"]


def timed(args):
    env = {**os.environ, "XAIEXP_HOME": tempfile.mkdtemp(prefix="xaiexp-sweep-bench-")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "xaiexp", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def sweep(workers):
    return timed(["-m", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}", *JOB, *GRID])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    startup = [timed(["dataset.n_train=32", "dataset.n_eval=32", "epochs=1", "explain=none"])
               for _ in range(args.rounds)]
    pairs = [(sweep(1), sweep(2)) for _ in range(args.rounds)]
    ratios = [one / two for one, two in pairs]
    print(f"per-job startup (a job that trains nothing): {statistics.median(startup):.1f} s")
    print(f"4-job sweep: 1 worker {statistics.median(p[0] for p in pairs):.1f} s, "
          f"2 workers {statistics.median(p[1] for p in pairs):.1f} s, "
          f"speed-up {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
