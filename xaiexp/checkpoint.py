"""Checkpoints that let an interrupted fit() continue exactly where it stopped."""

import contextlib
import json
import logging
import os
import re
import shutil

from xaiexp.util.faults import fault_point

STATE_FILE = "state.json"
VARIABLES = "variables"  # the tf.train.Checkpoint prefix inside a checkpoint folder
_COMPLETE = re.compile(r"ckpt-(\d{6})")


class Checkpoint:
    """Every model's and optimizer's variables (weights, Adam moments, step counters, dropout
    seed states, as a ``tf.train.Checkpoint``), the loop's position and the traces' own state,
    in one folder ``ckpt-<n>`` under ``directory``.

    A save is atomic: the folder is written as ``ckpt-<n>.tmp``, its files and itself fsynced,
    then renamed to ``ckpt-<n>`` (one rename: the commit) and the parent fsynced; only then
    are older checkpoints removed. An interruption at any instant leaves either the previous
    checkpoint or the new one, whole; the newest ``ckpt-<n>`` is the one loaded.
    """

    def __init__(self, directory):
        self.directory = directory

    def latest(self):
        """The newest complete checkpoint folder, or None."""
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        complete = sorted(name for name in names if _COMPLETE.fullmatch(name))
        return os.path.join(self.directory, complete[-1]) if complete else None

    def exists(self):
        return self.latest() is not None

    def save(self, models, position, trace_states):
        import tensorflow as tf

        latest = self.latest()
        number = int(_COMPLETE.fullmatch(os.path.basename(latest)).group(1)) + 1 if latest else 1
        final = os.path.join(self.directory, f"ckpt-{number:06d}")
        staging = final + ".tmp"
        shutil.rmtree(staging, ignore_errors=True)  # a save killed earlier
        os.makedirs(staging)
        variables = self._variables(models)
        fault_point("checkpoint.staged")
        with _quiet("absl"):  # TensorFlow logs a "Sharding callback duration" line per write
            tf.train.Checkpoint(variables=variables).write(os.path.join(staging, VARIABLES))
        fault_point("checkpoint.variables")
        state = {"position": position, "traces": trace_states, "variables": len(variables)}
        with open(os.path.join(staging, STATE_FILE), "w") as file:
            json.dump(state, file, indent=1)
        fault_point("checkpoint.state")
        for name in os.listdir(staging):
            _fsync(os.path.join(staging, name))
        _fsync(staging)
        fault_point("checkpoint.synced")
        os.rename(staging, final)
        fault_point("checkpoint.renamed")
        _fsync(self.directory)
        for name in os.listdir(self.directory):
            if name != os.path.basename(final):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        fault_point("checkpoint.pruned")

    def load(self, models):
        """Assign the saved variables to ``models`` in place; returns (position, trace states)."""
        import tensorflow as tf

        folder = self.latest()
        with open(os.path.join(folder, STATE_FILE)) as file:
            state = json.load(file)
        variables = self._variables(models)
        if state["variables"] != len(variables):
            raise ValueError(f"checkpoint {folder} holds {state['variables']} variables, "
                             f"the models have {len(variables)}: not the same experiment")
        tf.train.Checkpoint(variables=variables).read(os.path.join(folder, VARIABLES)).assert_consumed()
        return state["position"], state["traces"]

    @staticmethod
    def _variables(models):
        return [v for model in models for v in [*model.variables, *model.optimizer.variables]]


@contextlib.contextmanager
def _quiet(logger_name):
    """Only warnings and errors from logger ``logger_name`` inside the block."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _fsync(path):
    """Flush a file's (or a folder's entries') data to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
