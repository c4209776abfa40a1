"""The saliency grid of a report: one row per run, one probe's input image and its map by every
saliency method side by side. It is an ImgData, so it paints like the per-run figures (on a
private Agg canvas, without pyplot)."""

import numpy as np

from xaiexp.tracking.figure_arrays import image_columns
from xaiexp.util.img_data import ImgData


def saliency_grid(figures, probe):
    """(ImgData, notes): probe ``probe`` of each run's figure, a row per run in the given order,
    headed by the run's name; the columns are the figures' image columns (input first, then the
    methods; a method a run lacks stays blank). ``figures`` is [(run name, {column: array} or
    None)]. A run without arrays or that probe, or whose images differ in size from the rows
    above, is left out with a note. The ImgData is None when no run is left."""
    names, rows, shapes, notes = [], [], {}, []
    for name, arrays in figures:
        cells = {column: values[probe] for column, values in image_columns(arrays or {}).items()
                 if probe < len(values)}
        if arrays is None:
            notes.append(f"run {name!r} logged no saliency arrays (.npz); left out of the grid")
        elif not cells:
            notes.append(f"run {name!r} has no probe {probe} in its saliency arrays; left out of the grid")
        elif any(shapes.get(column, cell.shape) != cell.shape for column, cell in cells.items()):
            notes.append(f"run {name!r} has images of another size; left out of the grid")
        else:
            shapes |= {column: cell.shape for column, cell in cells.items()}
            names.append(name.replace(",", "\n"))  # a sweep child's name lists its swept keys
            rows.append(cells)
    if not rows:
        return None, notes
    columns = {column: np.stack([row.get(column, np.zeros(shape)) for row in rows])
               for column, shape in shapes.items()}
    return ImgData(run=names, **columns), notes
