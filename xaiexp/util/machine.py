"""What this machine has, read without TensorFlow: its NVIDIA GPUs (as the driver reports them)
and which TensorFlow wheel is installed, so a run can say why TensorFlow sees no GPU and which
command fixes it (README "GPU machines")."""

import re
import shutil
import subprocess
from importlib import metadata, util
from pathlib import Path

CPU_INSTALL = 'pip install -e ".[cpu]"'
GPU_INSTALL = 'pip install -e ".[gpu]"'
# Both wheels install the `tensorflow` package: with both present, one overwrites the other's files.
TENSORFLOW_WHEELS = ("tensorflow", "tensorflow-cpu")
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")  # one folder per GPU while the driver is loaded
NVIDIA_SMI_TIMEOUT = 10  # seconds; a hung driver must not hang the run


def nvidia_gpus(proc=NVIDIA_GPUS) -> list[str]:
    """The NVIDIA GPUs' names ("NVIDIA A100-SXM4-40GB"): ``nvidia-smi -L``'s, else the model
    lines of the driver's ``proc`` folder; [] on a machine without them."""
    return _smi_gpus() or _proc_gpus(Path(proc))


def _smi_gpus():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return []
    # "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-…)"
    return re.findall(r"^GPU \d+: (.+?)(?: \(UUID: .*\))?$", listing.stdout, re.MULTILINE)


def _proc_gpus(proc):
    if not proc.is_dir():
        return []
    # information: "Model: \t\t NVIDIA A100-SXM4-40GB" among other "Key: value" lines
    models = (re.search(r"^Model:\s*(.+)$", (folder / "information").read_text(), re.MULTILINE)
              for folder in sorted(proc.iterdir()) if (folder / "information").is_file())
    return [model.group(1).strip() for model in models if model]


def installed_tensorflow() -> list[str]:
    """The TensorFlow wheels installed in this environment, of TENSORFLOW_WHEELS."""
    found = []
    for name in TENSORFLOW_WHEELS:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def tensorflow_fix(gpus: bool, wheels=None) -> str | None:
    """What is wrong with this environment's TensorFlow for a machine with (``gpus``) or without
    NVIDIA GPUs, and the command that fixes it; None when nothing is."""
    wheels = installed_tensorflow() if wheels is None else wheels
    install = GPU_INSTALL if gpus else CPU_INSTALL
    if len(wheels) > 1:
        return (f"tensorflow and tensorflow-cpu are both installed (each overwrites the other's "
                f"files); fix: pip uninstall -y {' '.join(wheels)} && {install}")
    if gpus and wheels == ["tensorflow-cpu"]:
        return f"tensorflow-cpu cannot use GPUs; fix: pip uninstall -y tensorflow-cpu && {GPU_INSTALL}"
    return None


def missing_tensorflow() -> str | None:
    """"TensorFlow is not installed" with the install command for this machine, or None: the
    base install leaves the choice of wheel to the cpu and gpu extras."""
    if util.find_spec("tensorflow") is not None:
        return None
    return f"TensorFlow is not installed; fix: {GPU_INSTALL if nvidia_gpus() else CPU_INSTALL}"
