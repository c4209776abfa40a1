"""The default experiment, whole: this checkout's `xaiexp` against an earlier commit's, alternating.

    python benchmarks/default_run.py [--baseline dc0d823] [--rounds 3] [-- overrides...]

Each round runs the default experiment (`xaiexp`, MLflow on, a fresh store each run) once with a
checkout of ``--baseline`` (a temporary git worktree) and once with this one, in turns, so the
machine's load hits both alike; it prints each run's wall time, each round's ratio (this /
baseline) and their median. The default run of this checkout scores 100 class-stratified test
images where the baseline's scored its 5 probes; the bar: ratio <= 1.25, and this checkout's run
under a minute on 2 idle cores.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workers import print_devices  # benchmarks/workers.py

ROOT = Path(__file__).resolve().parent.parent


def timed_run(checkout: Path, overrides) -> float:
    """Seconds the default experiment takes from `checkout` (its code first on the path)."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PYTHONPATH": str(checkout), "XAIEXP_HOME": home,
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "xaiexp", *overrides], cwd=home, env=env,
                                capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: xaiexp failed:\n{result.stderr[-2000:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="dc0d823", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="overrides for both runs")
    args = parser.parse_args()
    print_devices()
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline),
                        args.baseline], check=True, capture_output=True)
        try:
            ratios = []
            for round_ in range(args.rounds):
                before = timed_run(baseline, args.overrides)
                now = timed_run(ROOT, args.overrides)
                ratios.append(now / before)
                print(f"round {round_ + 1}: baseline {before:.1f} s, this checkout {now:.1f} s, "
                      f"ratio {now / before:.2f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                           check=False, capture_output=True)
    print(f"median ratio {statistics.median(ratios):.2f} ({args.rounds} rounds; bar <= 1.25)")


if __name__ == "__main__":
    main()
