"""Data-parallel training (tf.distribute) gives the single-device results: same gradients of the
global batch, same metrics seen by the traces."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.support import SUPPORT
from xaiexp.backend.distribute import is_chief


@pytest.mark.slow
def test_mirrored_over_two_cpus_matches_one_device(tmp_path):
    """distribute_compare.py trains with distribute=none and =mirrored (two logical CPUs) in a
    fresh process: the CPU must be split before TensorFlow initializes its devices."""
    script = SUPPORT / "distribute_compare.py"
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path, env={**os.environ, "XAIEXP_HOME": str(tmp_path), "KERAS_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    single, mirrored = results["none"], results["mirrored"]
    assert (single["library"]["replicas"], mirrored["library"]["replicas"]) == (1, 2)
    for path in ("library", "runner"):
        for mode in ("eval", "test"):
            one, two = single[path][mode], mirrored[path][mode]
            assert one.keys() == two.keys() and "ce" in one and "accuracy" in one
            assert two["accuracy"] == one["accuracy"], (path, mode)
            trained = {key for key in one if "xai/" not in key}
            assert {k: two[k] for k in trained} == pytest.approx({k: one[k] for k in trained}, rel=1e-4)
            # explanation scores rank pixels: a last-digit difference in a map may swap two of
            # them in a deletion curve, so means of 100 images agree to 1e-3, not 1e-4
            assert two == pytest.approx(one, rel=1e-4, abs=1e-3), (path, mode)
    assert single["library"]["eval"]["accuracy"] > 0.9  # it learned: the comparison means something
    for one, two in zip(single["library"]["weights"], mirrored["library"]["weights"], strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("tf_config, chief", [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
])
def test_only_the_chief_tracks(tf_config, chief, monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert is_chief() is chief
