"""Which devices TensorFlow trains on, said in one line ("CPU", "GPU:0 NVIDIA A100-SXM4-40GB"),
and why a GPU the machine has goes unused (README "GPU machines")."""

import os
import re
import sys

import tensorflow as tf

from xaiexp.util.machine import GPU_INSTALL, nvidia_gpus, tensorflow_fix


def device_names(strategy: tf.distribute.Strategy | None = None) -> list[str]:
    """The devices one training step runs on: the ``strategy``'s (this worker's), else the one
    TensorFlow places ops on by default, its first GPU, or the CPU. A GPU carries its name."""
    if strategy is not None:
        devices = strategy.extended.worker_devices
    else:
        devices = [gpu.name for gpu in tf.config.list_logical_devices("GPU")[:1]] or ["CPU:0"]
    names = [_named(device) for device in devices]
    return ["CPU"] if names == ["CPU:0"] else names


def _named(device):
    kind, index = re.search(r"(\w+):(\d+)$", device).groups()  # .../device:GPU:0
    physical = tf.config.list_physical_devices(kind)
    if kind == "GPU" and int(index) < len(physical):
        name = tf.config.experimental.get_device_details(physical[int(index)]).get("device_name")
        if name:
            return f"{kind}:{index} {name}"
    return f"{kind}:{index}"


def device_warnings(models=()) -> list[str]:
    """What keeps training off this machine's NVIDIA GPUs, a broken TensorFlow install (both
    wheels at once), and float16 ``models`` on a CPU (emulated there: ~100x slower)."""
    machine = nvidia_gpus()
    usable = tf.config.list_physical_devices("GPU")
    fix = tensorflow_fix(gpus=bool(machine))
    warnings = []
    if machine and not usable:
        reason = fix or (f"TensorFlow found no CUDA libraries, or CUDA_VISIBLE_DEVICES hides the "
                         f"GPUs; fix: {GPU_INSTALL}")
        warnings.append(f"this machine has {len(machine)} GPU(s) ({', '.join(machine)}) that "
                        f"TensorFlow cannot use: {reason}")
    elif fix:
        warnings.append(fix)
    if not usable and any(layer.compute_dtype == "float16" for model in models for layer in model.layers):
        warnings.append("precision=mixed_float16 on a CPU computes float16 in software (about 100x "
                        "slower here); use float32, or mixed_bfloat16 on CPUs with AMX")
    return warnings


def report_devices(network, stream=sys.stderr) -> str:
    """Print which devices ``network`` (an ``xaiexp.Network``) trains on, and any
    ``device_warnings``; returns the devices in one string, for the run's ``xaiexp.devices`` tag."""
    devices = ", ".join(device_names(network.strategy))
    cores = f" ({os.cpu_count()} cores)" if devices == "CPU" else ""
    print(f"xaiexp: devices: {devices}{cores}", file=stream, flush=True)
    for warning in device_warnings(network.models):
        print(f"xaiexp: warning: {warning}", file=stream, flush=True)
    return devices
