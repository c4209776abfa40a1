"""The MLflow trace: what the console log shows, sent to the active MLflow run."""

import importlib
import os
import tempfile
import threading
import time

import mlflow
import numpy as np
import pandas
from mlflow.entities import Metric

from xaiexp.trace.trace import Trace
from xaiexp.tracking.figure_arrays import figure_arrays, figure_artifact
from xaiexp.tracking.outbox import Outbox
from xaiexp.util.faults import fault_point
from xaiexp.util.util import safe_name


# MLflow's image card shows a stepped image as a 256-pixel thumbnail, centred in a square box under
# the run's params; a strip at least this many times wider than high stays whole in the card when
# the params fit a line (measured in Chromium on MLflow 3.18, tests/e2e/test_browser.py).
CARD_ASPECT = 4


def metric_name(mode, key):
    """``eval/accuracy``: MLflow allows letters, digits, ``_-. /`` in names."""
    return f"{mode}/" + "".join(c if c.isalnum() or c in "_-. /" else "_" for c in key)


class MLflowTrace(Trace):
    """Logs every logged value as ``<mode>/<key>`` with ``step`` = global step, and every figure
    a trace published (anything with ``paint_numpy``, e.g. a saliency ImgData) as a PNG artifact
    ``<key>/<mode>_epoch_<n>.png``, its columns as ``<key>/<mode>_epoch_<n>.npz`` (see
    figure_arrays; ``xaiexp report`` reads them) and, for the image card of MLflow's Model
    metrics tab, as a stepped image ``<mode>/<key>``: its strip (``paint_strip``: the maps over
    their probes in one row) where it has one, else the whole figure. MLflow opens every image
    card at step 0, so the first figure of each key goes there (in a run not resumed) and the
    others at their global step. Per-image scores (anything with ``arrays`` and ``tags``, e.g.
    the Saliency trace's ``ImageScores``) become ``<key>/<mode>_epoch_<n>.npz``, the same as a
    table ``.csv`` that MLflow's artifact view previews, and run tags.

    Metrics are buffered and sent with one ``log_batch`` per epoch: a synchronous call per value
    costs ~17 ms on SQLite. Once the Estimator checkpoints (it asks for ``state_dict``), they
    wait for the checkpoint instead: the unsent records are part of it and are sent just after
    it is committed, so the run never holds a step that the checkpoint does not cover. A resumed
    run sends only what MLflow is missing (steps after the last one logged per key), so a kill
    at any instant logs each step once (README, "Interruptions, resume and determinism").
    Everything goes through the run's ``Outbox``: while a tracking server is away metrics and
    tags wait in ``save_dir`` (default: a temporary folder) and figures are skipped.
    """

    records_logs = True

    def __init__(self, run_id=None, save_dir=None):
        super().__init__(mode=None)
        self.run_id, self.save_dir = run_id, save_dir
        self.buffer = []
        self.checkpointed = None  # how many buffered records the last checkpoint holds
        self.logged_steps = None  # resumed: the last step MLflow holds, by metric key
        self.carded = set()  # stepped image keys logged; None once resumed (step 0 is taken)
        self.client = None

    def needs_batch(self):
        return False

    def on_begin(self, data):
        self.run_id = self.run_id or mlflow.active_run().info.run_id
        resumed = self.client is None and self.system.global_step > 0  # fit() from a checkpoint
        self.client = mlflow.MlflowClient()
        self.outbox = Outbox.of(self.run_id, self.save_dir)
        if resumed:
            self.logged_steps = {}
            self.carded = None
            self.flush(self.checkpointed)
        # Figures are painted with matplotlib at the first epoch's end: import it meanwhile.
        threading.Thread(target=importlib.import_module, args=("matplotlib.backends.backend_agg",),
                         daemon=True).start()

    def on_epoch_begin(self, data):
        self.flush(self.checkpointed)

    def on_batch_end(self, data):
        if self.system.should_log():
            self._record("train", data.read_logs())

    def on_epoch_end(self, data):
        self._record(self.system.mode, data.read_logs())
        for key, value in data.items():
            if hasattr(value, "paint_numpy"):
                self.outbox.call(lambda key=key, value=value: self._log_figure(key, value), skippable=True)
            elif hasattr(value, "arrays") and hasattr(value, "tags"):  # e.g. ImageScores
                self.outbox.call(lambda key=key, value=value: self._log_arrays(key, value.arrays(), table=True),
                                 skippable=True)
                if tags := value.tags(self.system.mode):
                    self.outbox.set_tags(tags)
        if self.checkpointed is None:
            self.flush()

    def on_end(self, data):
        """Everything, also after an error: a failed run shows the steps that led to it."""
        self._record(self.system.mode, data.read_logs())
        self.flush()

    def state_dict(self):
        self.checkpointed = len(self.buffer)
        return {"unsent": [[m.key, m.value, m.timestamp, m.step] for m in self.buffer]}

    def load_state_dict(self, state):
        self.buffer = [Metric(*record) for record in state["unsent"]]
        self.checkpointed = len(self.buffer)

    def flush(self, count=None):
        """Send the first ``count`` buffered records (all by default)."""
        count = len(self.buffer) if count is None else count
        sending, self.buffer = self.buffer[:count], self.buffer[count:]
        if self.checkpointed is not None:
            self.checkpointed = max(self.checkpointed - len(sending), 0)
        sending = [m for m in sending if self.logged_steps is None or m.step > self._logged_step(m.key)]
        if sending:
            fault_point("metrics.sending")
            self.outbox.send_metrics(sending)
            fault_point("metrics.sent")

    def _logged_step(self, key):
        if key not in self.logged_steps:
            history = self.client.get_metric_history(self.run_id, key)
            self.logged_steps[key] = max((m.step for m in history), default=-1)
        return self.logged_steps[key]

    def _record(self, mode, logs):
        now = int(time.time() * 1000)
        for key, value in logs.items():
            if np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number):
                self.buffer.append(Metric(metric_name(mode, key), float(value), now, self.system.global_step))

    def _log_figure(self, key, figure):
        """The PNG artifact and the card's stepped image (see the class)."""
        image = figure.paint_numpy()
        mode, name, epoch = self.system.mode, safe_name(key), self.system.epoch_idx
        self.client.log_image(self.run_id, image, artifact_file=figure_artifact(name, mode, epoch, "png"))
        self._log_arrays(key, figure_arrays(figure))
        stepped, step = f"{mode}/{name}", self.system.global_step
        if self.carded is not None and stepped not in self.carded:
            self.carded.add(stepped)
            step = 0
        self.client.log_image(self.run_id, card_image(figure, image), key=stepped, step=step, synchronous=True)

    def _log_arrays(self, key, arrays, table=False):
        """``<key>/<mode>_epoch_<n>.npz``: a figure's columns, or per-image scores (with
        ``table``, also as ``.csv``: one row per image)."""
        name, mode, epoch = safe_name(key), self.system.mode, self.system.epoch_idx
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, os.path.basename(figure_artifact(name, mode, epoch, "npz")))
            np.savez(path, **arrays)
            if table:
                pandas.DataFrame(arrays).to_csv(path.removesuffix(".npz") + ".csv", index=False,
                                                float_format="%.4g")  # to read; the .npz keeps all digits
            self.client.log_artifacts(self.run_id, folder, artifact_path=name)


def card_image(figure, painted):
    """The image card's picture of ``figure`` (``painted``: its whole picture): its strip, at
    least CARD_ASPECT times as wide as high, where it has an image column; else the whole."""
    try:
        return figure.paint_strip(min_aspect=CARD_ASPECT)
    except (AttributeError, ValueError):
        return painted
