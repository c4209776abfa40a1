"""A benchmark's measurement in a fresh process: a clean TensorFlow (its own oneDNN setting, its
own peak memory), whose last stdout line is the JSON of what it measured."""

import json
import os
import subprocess
import sys


def in_subprocess(script, *args, env=None):
    """Run ``script --worker *args`` with ``env`` added to this environment; its JSON answer."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    done = subprocess.run([sys.executable, script, "--worker", *map(str, args)], env=env,
                          stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
