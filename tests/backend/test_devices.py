"""Which devices a run trains on, and the warning when the machine's GPUs are out of TensorFlow's
reach (README "GPU machines").

This machine has no GPU. The warning is exercised with the two things xaiexp reads about a
machine's GPUs, stood in for: an ``nvidia-smi`` on PATH that prints what the driver's prints for
``-L``, and a folder laid out as the driver's /proc/driver/nvidia/gpus.
"""

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)

import io
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from xaiexp.util.machine import (GPU_INSTALL, installed_tensorflow, missing_tensorflow, nvidia_gpus,
                                 tensorflow_fix)

A100 = "NVIDIA A100-SXM4-40GB"
# nvidia-smi -L, as NVIDIA's driver prints it (one line a GPU)
SMI_LISTING = (f"GPU 0: {A100} (UUID: GPU-5d2f7e0a-8c1b-4f3e-9a6d-2b7c1e0f4a93)\n"
               "GPU 1: Tesla T4 (UUID: GPU-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0)\n")
# /proc/driver/nvidia/gpus/<bus id>/information, as the driver writes it
PROC_INFORMATION = (f"Model: \t\t {A100}\nIRQ:   \t\t 123\nGPU UUID: \t GPU-5d2f7e0a\n"
                    "Video BIOS: \t 92.00.45.00.04\nBus Type: \t PCIe\nDMA Size: \t 47 bits\n")


@pytest.fixture
def nvidia_smi(tmp_path, monkeypatch):
    """An ``nvidia-smi`` first on PATH that lists two GPUs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(f"#!/bin/sh\ncat <<'EOF'\n{SMI_LISTING}EOF\n")
    (folder / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def test_the_test_environment_has_one_tensorflow_wheel_and_nothing_to_fix():
    assert len(installed_tensorflow()) == 1
    assert missing_tensorflow() is None
    assert tensorflow_fix(gpus=bool(nvidia_gpus())) is None


def test_an_install_without_tensorflow_is_told_the_command(tmp_path):
    """The base install (``pip install -e .``) has no TensorFlow: this environment's packages less
    TensorFlow's, without site's .pth processing (``-S``)."""
    packages = tmp_path / "site-packages"
    packages.mkdir()
    for entry in Path(site.getsitepackages()[0]).iterdir():
        if not entry.name.startswith(("tensorflow", "tensorflow_cpu")) or entry.name.startswith(
                ("tensorflow_datasets", "tensorflow_metadata")):
            (packages / entry.name).symlink_to(entry)
    result = subprocess.run([sys.executable, "-S", "-m", "xaiexp", "epochs=1"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{packages}",
                                 "XAIEXP_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip() == 'xaiexp: error: TensorFlow is not installed; fix: pip install -e ".[cpu]"'


def test_gpus_are_read_from_nvidia_smi(nvidia_smi):
    assert nvidia_gpus() == [A100, "Tesla T4"]


def test_gpus_are_read_from_the_driver_folder_without_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    for bus in ("0000:3b:00.0", "0000:af:00.0"):
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(PROC_INFORMATION)
    assert nvidia_gpus(proc=tmp_path) == [A100, A100]
    assert nvidia_gpus(proc=tmp_path / "absent") == []


@pytest.mark.parametrize("gpus, wheels, fix", [
    (True, ["tensorflow-cpu"], f"pip uninstall -y tensorflow-cpu && {GPU_INSTALL}"),
    (True, ["tensorflow", "tensorflow-cpu"], f"pip uninstall -y tensorflow tensorflow-cpu && {GPU_INSTALL}"),
    (False, ["tensorflow", "tensorflow-cpu"], 'pip uninstall -y tensorflow tensorflow-cpu && pip install -e ".[cpu]"'),
    (True, ["tensorflow"], None),
    (False, ["tensorflow-cpu"], None),
])
def test_the_fix_names_the_command(gpus, wheels, fix):
    found = tensorflow_fix(gpus, wheels)
    assert found is None if fix is None else found.endswith(f"fix: {fix}")


@pytest.mark.skipif(installed_tensorflow() != ["tensorflow-cpu"], reason="the .[cpu] install")
def test_a_gpu_machine_with_tensorflow_cpu_is_warned_with_the_fix(nvidia_smi):
    from xaiexp.backend.devices import device_names, device_warnings

    assert device_names() == ["CPU"]  # what TensorFlow has here, stand-in GPUs or not
    (warning,) = device_warnings()
    assert warning == (f"this machine has 2 GPU(s) ({A100}, Tesla T4) that TensorFlow cannot use: "
                       f"tensorflow-cpu cannot use GPUs; fix: pip uninstall -y tensorflow-cpu && "
                       f'pip install -e ".[gpu]"')


def test_the_devices_line_and_the_float16_on_cpu_warning():
    import xaiexp as xe
    from xaiexp.architecture.tensorflow import LeNet
    from xaiexp.backend.devices import report_devices
    from xaiexp.op.tensorop.model import ModelOp

    model = xe.build(lambda: LeNet(input_shape=(24, 24, 3), classes=3), "adam", precision="mixed_float16")
    stream = io.StringIO()
    assert report_devices(xe.Network([ModelOp(model, "x", "y_pred")]), stream=stream) == "CPU"
    first, warning = stream.getvalue().splitlines()
    assert first.startswith("xaiexp: devices: CPU (") and first.endswith(" cores)")
    assert warning.startswith("xaiexp: warning: precision=mixed_float16 on a CPU")
