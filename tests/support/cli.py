"""The real ``xaiexp`` command in a subprocess, and the overrides that make a run take seconds."""

import os
import subprocess
import sys


def run_cli(*args, timeout=600, env=None, cwd=None):
    """Run the real ``xaiexp`` command (``python -m xaiexp``) and capture its output."""
    return subprocess.run([sys.executable, "-m", "xaiexp", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


# Overrides that make the default experiment take seconds: tiny shapes, one short epoch; the
# metrics score the 2 probes every epoch (the default's 100-image scoring set would be most of
# the eval split, scored at the last epoch only).
TINY = ["dataset.n_train=256", "dataset.n_eval=128", "epochs=2", "batch_size=32", "log_steps=4",
        "explain.samples=2", "explain.smoothing=3", "explain.integrating=[4,2]",
        "explain.score_samples=null", "explain.score_every=1"]
