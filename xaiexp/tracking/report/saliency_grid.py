"""The saliency grid of a report: one row per run, headed by the run's name and accuracy, one
probe's label, prediction, input image and its map by every saliency method side by side. It is
an ImgData, so it paints like the per-run figures (on a private Agg canvas, without pyplot)."""

import numpy as np

from xaiexp.tracking.figure_arrays import image_columns
from xaiexp.util.img_data import ImgData


def saliency_grid(figures, probe):
    """(ImgData, notes): probe ``probe`` of each run's figure, a row per run in the given order.
    ``figures`` is [(run name, accuracy or None, {column: array} or None)]. The columns are the
    figures' text columns (label, prediction), then their image columns (input first, then the
    methods); what a run lacks stays blank. A run without arrays or that probe, or whose images
    differ in size from the rows above, is left out with a note saying so. The ImgData is None
    when no run is left."""
    names, accuracies, rows, shapes, texts, notes = [], [], [], {}, [], []
    for name, accuracy, arrays in figures:
        images = image_columns(arrays or {})
        probes = min((len(values) for values in images.values()), default=0)
        cells = {column: values[probe] for column, values in images.items() if probe < len(values)}
        if arrays is None:
            notes.append(f"run {name!r} logged no saliency arrays (.npz); left out of the grid")
        elif not cells:
            notes.append(f"run {name!r} has {probes} probes (0-{probes - 1}), no probe {probe}; "
                         f"left out of the grid" if probes else
                         f"run {name!r} has no images in its saliency arrays; left out of the grid")
        elif any(shapes.get(column, cell.shape) != cell.shape for column, cell in cells.items()):
            notes.append(f"run {name!r} has images of another size; left out of the grid")
        else:
            shapes |= {column: cell.shape for column, cell in cells.items()}
            names.append(name)
            accuracies.append("" if accuracy is None or np.isnan(accuracy) else f"{accuracy:.3f}")
            texts.append({column: str(values[probe]) for column, values in arrays.items()
                          if values.ndim == 1 and probe < len(values)})
            rows.append(cells)
    if not rows:
        return None, notes
    text_columns = list(dict.fromkeys(column for text in texts for column in text))
    columns = {column: [text.get(column, "") for text in texts] for column in text_columns}
    columns |= {column: np.stack([row.get(column, np.zeros(shape)) for row in rows])
                for column, shape in shapes.items()}
    return ImgData(run=names, accuracy=accuracies, **columns), notes  # a line each: none overlaps
