"""The configs ship inside a regular (non-editable) wheel."""

import json
import subprocess
import sys

import pytest

from tests.support import ROOT


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


def resolve(extras, report):
    """Start pip resolving ``pip install -e ".[extras]"`` on a machine with nothing installed
    (the registry's metadata only: no wheel is downloaded), its report to ``report``."""
    return subprocess.Popen([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                             "--no-build-isolation", "--quiet", "--report", str(report),
                             "-e", f"{ROOT}[{extras}]"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_cpu_and_gpu_installs_each_resolve_to_one_tensorflow(tmp_path):
    """README "GPU machines": `.[gpu]` brings tensorflow with the CUDA wheels and never
    tensorflow-cpu; `.[cpu]` brings tensorflow-cpu alone (on this Linux x86_64 machine)."""
    installs = {extras: (resolve(extras, tmp_path / f"{extras}.json"), tmp_path / f"{extras}.json")
                for extras in ("gpu", "cpu")}  # side by side: each is ~25 s of pip's own work
    resolved = {}
    for extras, (process, report) in installs.items():
        _, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors[-3000:]
        resolved[extras] = {item["metadata"]["name"].lower().replace("_", "-")
                            for item in json.loads(report.read_text())["install"]}
    tensorflows = {extras: sorted(names & {"tensorflow", "tensorflow-cpu"}) for extras, names in resolved.items()}
    assert tensorflows == {"gpu": ["tensorflow"], "cpu": ["tensorflow-cpu"]}
    cuda = {name for name in resolved["gpu"] if name.startswith("nvidia-")}
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-cuda-runtime-cu12"} <= cuda
    assert not any(name.startswith("nvidia-") for name in resolved["cpu"])
    assert {"xaiexp", "mlflow", "hydra-core", "keras"} <= resolved["gpu"] & resolved["cpu"]
