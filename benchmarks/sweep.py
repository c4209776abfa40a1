"""Sweep wall time: an Optuna sweep with and without pruning, a 4-job grid with 1 vs 2 joblib
workers, and the per-job startup cost.

    python benchmarks/sweep.py [--rounds 2] [--skip-workers]

Each measurement is a real ``xaiexp -m`` subprocess into a fresh project (MLflow store, Optuna
study). Rounds alternate the two settings so machine noise hits both; ratios compare them.

Pruning: 8 Optuna trials (random sampler, same seed, so both sweeps draw the same trials) over
learning rates of which half are hopeless (1e-7, 3e-7: the model stays at chance) and half learn
(1e-3, 3e-3), 4 epochs each; with ``hydra/sweeper/pruner=median`` a trial worse than the median
of the finished ones at its first epoch stops there. Printed: both times, their ratio, and the
trials pruned. The startup cost is the wall time of a job that trains almost nothing (32 images,
one epoch, no saliency): imports, store, run creation, model build.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from workers import print_devices  # benchmarks/workers.py

JOB = ["dataset.n_train=2000", "dataset.n_eval=500", "epochs=2", "explain.samples=2",
       "explain.smoothing=5", "explain.integrating=[10,2]"]
GRID = ["schedule.init_lr=1e-3,3e-4", "model.width=1,2"]
SEARCH = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=8", "hydra/sweeper/sampler=random",
          "hydra.sweeper.sampler.seed=0", "hydra.sweeper.storage=sqlite:///outputs/optuna.db",
          "hydra.sweeper.params={schedule.init_lr: 'choice(1e-7, 3e-7, 1e-3, 3e-3)'}",
          "model.width=1", "batch_size=32", "schedule.min_lr=0", "dataset.n_train=1000",
          "dataset.n_eval=256", "epochs=4", "explain=none"]


def timed(args):
    """Seconds a fresh ``xaiexp`` command takes, and the project folder it wrote."""
    home = tempfile.mkdtemp(prefix="xaiexp-sweep-bench-")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xaiexp", *args], env={**os.environ, "XAIEXP_HOME": home},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        sys.exit(f"xaiexp {' '.join(args)} failed:\n{done.stdout[-3000:]}")
    return time.perf_counter() - start, home


def pruned_trials(home):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="xaiexp", storage=f"sqlite:///{home}/outputs/optuna.db")
    return sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials), len(study.trials)


def pruning(rounds):
    pairs, pruned = [], []
    for _ in range(rounds):
        plain, _ = timed([*SEARCH, "hydra/sweeper/pruner=none"])
        median, home = timed([*SEARCH, "hydra/sweeper/pruner=median"])
        pairs.append((plain, median))
        pruned.append(pruned_trials(home))
    ratios = [plain / median for plain, median in pairs]
    print(f"8-trial Optuna sweep, half the learning rates hopeless: no pruning "
          f"{statistics.median(p[0] for p in pairs):.1f} s, median pruner "
          f"{statistics.median(p[1] for p in pairs):.1f} s, speed-up {statistics.median(ratios):.2f}x "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}); pruned trials per round: "
          f"{', '.join(f'{n} of {total}' for n, total in pruned)}")


def workers(rounds):
    startup = [timed(["dataset.n_train=32", "dataset.n_eval=32", "epochs=1", "explain=none"])[0]
               for _ in range(rounds)]
    pairs = [tuple(timed(["-m", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={n}", *JOB, *GRID])[0]
                   for n in (1, 2)) for _ in range(rounds)]
    ratios = [one / two for one, two in pairs]
    print(f"per-job startup (a job that trains nothing): {statistics.median(startup):.1f} s")
    print(f"4-job sweep: 1 worker {statistics.median(p[0] for p in pairs):.1f} s, "
          f"2 workers {statistics.median(p[1] for p in pairs):.1f} s, "
          f"speed-up {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-workers", action="store_true", help="measure pruning only")
    args = parser.parse_args()
    print_devices()
    pruning(args.rounds)
    if not args.skip_workers:
        workers(args.rounds)


if __name__ == "__main__":
    main()
