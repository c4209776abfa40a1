"""Data-parallel strategies by name (``choices.STRATEGIES``): "none", "mirrored" (the devices of
one machine) and "multi_worker" (several machines, described by the TF_CONFIG environment
variable)."""

import functools
import json
import os

import tensorflow as tf

from xaiexp.backend.choices import STRATEGIES


@functools.cache
def get_strategy(name):
    """The ``tf.distribute`` strategy called ``name``, or None for "none" (single device).

    One per process: a second call returns the first one (two live strategies' collective
    ops would collide, and TensorFlow allows one MultiWorkerMirroredStrategy per process).

    "mirrored" replicates over every GPU, or, on a machine without one, over every logical CPU
    device (one, unless ``tf.config.set_logical_device_configuration`` split the CPU: useful
    for tests only). "multi_worker" must be created before any other TensorFlow op runs.
    """
    if name in (None, "none"):
        return None
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown distribute strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def is_chief():
    """Whether this process is the cluster's chief (or runs alone): the one that logs and saves.

    TF_CONFIG's "chief" task, else "worker" 0 when the cluster names no chief.
    """
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 \
        and "chief" not in config.get("cluster", {})


def merge_replicas(strategy, results, sum_keys):
    """One global batch from the per-replica results of ``strategy.run``: ``sum_keys`` (losses
    already weighted by each replica's share of the batch) summed, other scalars averaged,
    batch tensors concatenated in replica order."""
    merged = {}
    for key, value in results.items():
        if key in sum_keys:
            merged[key] = strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
        elif strategy.experimental_local_results(value)[0].shape.rank == 0:
            merged[key] = strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
        else:
            merged[key] = gather(strategy, value)
    return merged


def gather(strategy, value):
    """Concatenate a per-replica tensor along the batch axis; ``strategy.gather`` takes only
    (u)int32/64 and float dtypes, so others (uint8 images, bools) travel widened."""
    dtype = strategy.experimental_local_results(value)[0].dtype
    if dtype in GATHERABLE:
        return strategy.gather(value, axis=0)
    wide = tf.float32 if dtype.is_floating else tf.int64
    return tf.cast(strategy.gather(strategy.run(lambda v: tf.cast(v, wide), args=(value,)), axis=0), dtype)


GATHERABLE = (tf.float16, tf.float32, tf.float64, tf.int32, tf.int64)
