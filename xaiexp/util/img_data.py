"""ImgData: per-sample columns (labels, images, masks, overlays) laid out as one figure.

Matplotlib is imported on first paint, and only ``paint_figure`` touches pyplot (so that the
figure shows in notebooks and with ``plt.show()``); traces use ``paint_numpy``, which draws on
a private Agg canvas and leaves no figure behind in pyplot's registry.
"""

import io
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

CELL_PIXELS = 108  # 1.5 inches at 72 dpi
TITLE_PIXELS = 22
DPI = 72
FONT_SIZE = 8
CELL_MARGIN = 2  # pixels of white around each image


@dataclass(frozen=True)
class Overlay:
    """Images (B, H, W, C) with masks (B, H, W, 1) in [0, 1] drawn over them in the colormap,
    more opaque where the mask is higher, up to ``alpha``."""

    images: object
    masks: object
    alpha: float = 0.7


class ImgData(OrderedDict):
    """Columns of equal length B, painted as B rows: strings and numbers as text, (B, H, W)
    and (B, H, W, 1) arrays through ``colormap``, (B, H, W, 3) arrays as RGB, each image scaled
    to its own min-max range; ``Overlay`` columns blend masks over images."""

    def __init__(self, colormap="inferno", **columns):
        super().__init__(columns)
        self.colormap = colormap
        lengths = {key: len(_column_values(value)) for key, value in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"ImgData columns differ in length: {lengths}")
        self.num_rows = next(iter(lengths.values()), 0)

    @classmethod
    def of(cls, key, value):
        """``value`` if it is ImgData already, else a one-column ImgData of it."""
        return value if isinstance(value, ImgData) else cls(**{key: value})

    def paint_figure(self, save_path=None):
        """A pyplot figure of the table (shown by ``plt.show()``), saved to ``save_path`` if
        given; close it with ``plt.close(fig)`` when done."""
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=self._size_inches(), dpi=DPI)
        self._draw(fig)
        if save_path:
            fig.savefig(save_path)
        return fig

    def paint_numpy(self):
        """The painted table as a (height, width, 3) uint8 RGB array."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=self._size_inches(), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        self._draw(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def paint_png(self):
        """The painted table as PNG file bytes."""
        from matplotlib.image import imsave

        buffer = io.BytesIO()
        imsave(buffer, self.paint_numpy(), format="png")
        return buffer.getvalue()

    def _size_inches(self):
        return CELL_PIXELS * len(self) / DPI, (CELL_PIXELS * self.num_rows + TITLE_PIXELS) / DPI

    def _draw(self, fig):
        """The table as ONE image on one Axes, with text on top: a grid of 40 Axes took about a
        second per figure to build, this takes a few hundredths."""
        if not self.num_rows:
            return
        cell, title = CELL_PIXELS, TITLE_PIXELS
        canvas = np.ones((title + cell * self.num_rows, cell * len(self), 3), np.float32)
        texts = []
        for col, (name, column) in enumerate(self.items()):
            texts.append((cell * (col + 0.5), title / 2, name))
            for row, content in enumerate(self._cells(column)):
                top, left = title + cell * row, cell * col
                if isinstance(content, str):
                    texts.append((left + cell / 2, top + cell / 2, content))
                else:
                    inner = cell - 2 * CELL_MARGIN
                    canvas[top + CELL_MARGIN:top + CELL_MARGIN + inner,
                           left + CELL_MARGIN:left + CELL_MARGIN + inner] = _resize(content, inner)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.imshow(canvas, interpolation="nearest", aspect="auto")
        for x, y, text in texts:
            ax.text(x, y, text, ha="center", va="center", fontsize=FONT_SIZE)

    def _cells(self, column):
        """A column as displayable cells: strings, or (H, W, 3) RGB floats in [0, 1]."""
        if isinstance(column, Overlay):
            images = _rgb(_column_values(column.images), self.colormap)
            masks = np.asarray(_column_values(column.masks), np.float32).reshape(images.shape[:3])
            opacity = (column.alpha * np.clip(masks, 0, 1))[..., None]
            return (1 - opacity) * images + opacity * _colorize(masks, self.colormap)
        values = _column_values(column)
        if isinstance(values, np.ndarray) and values.ndim >= 3 and values.dtype.kind in "biuf":
            return _rgb(values, self.colormap)
        return [_text(value) for value in values]


def _column_values(column):
    """Lists and tuples stay as they are; tensors and other array-likes become NumPy arrays."""
    if isinstance(column, Overlay):
        return _column_values(column.images)
    return column if isinstance(column, (list, tuple)) else np.asarray(column)


def _text(value):
    value = np.asarray(value)
    if value.size == 1:
        value = value.reshape(()).item()
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _rgb(images, colormap):
    """(B, H, W[, C]) numbers -> (B, H, W, 3) in [0, 1], each image min-max scaled; single
    channels go through the colormap."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    spread = images.max(axis=axes, keepdims=True) - low
    scaled = np.divide(images - low, spread, out=np.zeros_like(images), where=spread > 0)
    if scaled.shape[-1] == 1:
        return _colorize(scaled[..., 0], colormap)
    if scaled.shape[-1] in (3, 4):
        return scaled[..., :3]
    raise ValueError(f"images need 1, 3 or 4 channels, got shape {images.shape}")


def _resize(image, size):
    """Nearest-neighbour resize of (H, W, 3) to (size, size, 3): pixels stay crisp squares."""
    rows = np.arange(size) * image.shape[0] // size
    cols = np.arange(size) * image.shape[1] // size
    return image[rows][:, cols]


def _colorize(values, colormap):
    import matplotlib

    return matplotlib.colormaps[colormap](values)[..., :3]
