"""A published figure's columns as an ``.npz`` artifact beside its PNG, so that a report can
recompose saliency maps across runs without decoding pictures.

The artifact of figure ``key`` in ``mode`` at epoch n is ``<key>/<mode>_epoch_<nnn>.npz``; its
arrays keep the figure's column names and order.
"""

import re
import tempfile

import numpy as np

from xaiexp.util.img_data import Overlay


def figure_artifact(key, mode, epoch, extension):
    """``saliency/eval_epoch_003.png``: where a figure of ``key`` (already a safe name) goes."""
    return f"{key}/{mode}_epoch_{epoch:03d}.{extension}"


def load_last_epoch(client, run_id, key, mode):
    """{column: array} of the run's last ``<key>/<mode>_epoch_<n>.npz`` (an MlflowClient's
    run), or None when the run logged none."""
    pattern = re.compile(rf"{re.escape(key)}/{re.escape(mode)}_epoch_(\d+)\.npz")
    epochs = {int(match[1]): item.path for item in client.list_artifacts(run_id, key)
              if (match := pattern.fullmatch(item.path))}
    if not epochs:
        return None
    with tempfile.TemporaryDirectory() as folder, \
            np.load(client.download_artifacts(run_id, epochs[max(epochs)], folder)) as npz:
        return {name: npz[name] for name in npz.files}


def figure_arrays(figure):
    """{column name: array} of an ImgData: number and image columns as they are, text and
    label columns as str arrays. Overlay columns are left out: they only blend an image column
    with a map column that the figure holds too."""
    arrays = {}
    for name, column in figure.items():
        if isinstance(column, Overlay):
            continue
        values = np.asarray(column)
        arrays[name] = values if values.dtype.kind in "biuf" else values.astype(str)
    return arrays


def image_columns(arrays):
    """The (B, H, W[, C]) number columns, in figure order: for a saliency figure the probes'
    input images first, then one map column per method."""
    return {name: values for name, values in arrays.items()
            if values.ndim >= 3 and values.dtype.kind in "biuf"}
