"""What the benchmarks share: a measurement in a fresh process (a clean TensorFlow with its own
oneDNN setting and its own peak memory, whose last stdout line is the JSON of what it measured),
and the devices line that heads every benchmark's figures."""

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


def print_devices():
    """Print the devices TensorFlow computes on here (README "GPU machines"): figures from a GPU
    machine and from a CPU are not to be compared."""
    import xaiexp  # noqa: F401  (sets TensorFlow's environment first)
    from xaiexp.backend.devices import device_names

    print(f"devices: {', '.join(device_names())}; cores: {os.cpu_count()}; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}", flush=True)
