"""The configs ship inside a regular (non-editable) wheel."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_carries_the_configs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "wheel"), str(ROOT)], check=True, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("xaiexp-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                    str(wheel)], check=True, timeout=300)
    code = ("from xaiexp.app.cli import compose_config, config_dir; "
            "cfg = compose_config(['experiment=cifar10_saliency']); print(config_dir()); print(cfg.log_steps)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    conf, log_steps = result.stdout.split()
    assert conf.startswith(str(site)) and log_steps == "1000"
