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
DPI = 72  # so font sizes in points are pixels
FONT_SIZE = 12  # legible when MLflow shows the figure scaled down to a card
TITLE_FONT_SIZE = 16
TITLE_PIXELS = 30  # the title band, when the figure has a title
HEADER_PIXELS = 36  # column names, up to two lines
LINE_PIXELS = 16  # one line of text in a cell
CHAR_PIXELS = 0.62 * FONT_SIZE  # DejaVu Sans' widest common advance: sizes text without measuring
CELL_MARGIN = 2  # pixels of white around each image
COLORBAR_PIXELS = 64  # the colour scale beside the maps: bar, ticks and its name
WRONG = (0.84, 0.15, 0.16)  # red: a wrong prediction's text and the mark beside its row
STRIP_CELL_PIXELS = 96  # a strip's cells (paint_strip)
STRIP_GAP = 6  # white between a strip's cells; a wrong prediction's red frame is drawn in it


@dataclass(frozen=True)
class Overlay:
    """Images (B, H, W, C) with masks (B, H, W, 1) in [0, 1] drawn over them in the colormap,
    more opaque where the mask is higher, up to ``alpha``; ``method`` (the masks' column name)
    is added to the column's header."""

    images: object
    masks: object
    alpha: float = 0.7
    method: str | None = None


@dataclass
class _Block:
    """One painted column: an image column, or consecutive text columns sharing one cell."""

    names: list
    cells: list  # per name: B strings, or one (B, H, W, 3) array
    width: int

    @property
    def is_text(self):
        return isinstance(self.cells[0], list)


class ImgData(OrderedDict):
    """Columns of equal length B, painted as B rows: strings and numbers as text, (B, H, W)
    and (B, H, W, 1) arrays through ``colormap``, (B, H, W, 3) arrays as RGB, each image scaled
    to its own min-max range; ``Overlay`` columns blend masks over images.

    Consecutive text columns share one cell, a line each ("y: cat", "y_pred: dog"). Optional
    attributes: ``title`` (a line above the table), ``checked`` (a pair of text columns, truth
    and prediction: rows where they differ are marked in red). A colour scale beside the table
    reads the colormapped columns' 0-1 display scale.
    """

    title: str | None = None
    checked: tuple | None = None

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

        blocks = self._blocks()
        fig = plt.figure(figsize=self._size_inches(blocks), dpi=DPI)
        self._draw(fig, blocks)
        if save_path:
            fig.savefig(save_path)
        return fig

    def paint_numpy(self):
        """The painted table as a (height, width, 3) uint8 RGB array."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        blocks = self._blocks()
        fig = Figure(figsize=self._size_inches(blocks), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        self._draw(fig, blocks)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def paint_png(self):
        """The painted table as PNG file bytes."""
        from matplotlib.image import imsave

        buffer = io.BytesIO()
        imsave(buffer, self.paint_numpy(), format="png")
        return buffer.getvalue()

    def paint_strip(self, max_cells: int = 8, min_aspect: float = 1.0):
        """One column as a single row of at most ``max_cells`` cells — the first ``Overlay``
        (maps over their images), else the first image column — each wrong prediction framed in
        red (``checked``), centred on white at least ``min_aspect`` times as wide as high: a
        thumbnail that stays whole and readable where a viewer shrinks the figure to a few
        hundred pixels. A (height, width, 3) uint8 RGB array."""
        names = [name for name, column in self.items() if isinstance(column, Overlay)] or [
            name for name, column in self.items() if not isinstance(self._cells(column), list)]
        if not names:
            raise ValueError("paint_strip needs an image or Overlay column")
        cells = self._cells(self[names[0]])[:max_cells]
        wrong, pitch = self._wrong_rows(), STRIP_CELL_PIXELS + STRIP_GAP
        width = max(pitch * len(cells) + STRIP_GAP, int(min_aspect * (pitch + STRIP_GAP)))
        strip = np.ones((pitch + STRIP_GAP, width, 3), np.float32)
        left = (width - pitch * len(cells) - STRIP_GAP) // 2 + STRIP_GAP
        for row, cell in enumerate(cells):
            x = left + pitch * row
            if row in wrong:
                strip[STRIP_GAP // 2:STRIP_GAP // 2 + pitch, x - STRIP_GAP // 2:x - STRIP_GAP // 2 + pitch] = WRONG
            strip[STRIP_GAP:STRIP_GAP + STRIP_CELL_PIXELS, x:x + STRIP_CELL_PIXELS] = _resize(cell, STRIP_CELL_PIXELS)
        return (strip * 255).round().astype(np.uint8)

    def _blocks(self):
        blocks = []
        for name, column in self.items():
            cells = self._cells(column)
            if isinstance(cells, list) and blocks and blocks[-1].is_text:
                blocks[-1].names.append(name)
                blocks[-1].cells.append(cells)
            else:
                blocks.append(_Block([name], [cells], CELL_PIXELS))
        for block in blocks:
            if block.is_text:
                lines = [line for row in range(self.num_rows) for line in self._lines(block, row)]
                block.width = max(CELL_PIXELS, int(CHAR_PIXELS * max(map(len, lines), default=0)) + 16)
        return blocks

    def _has_colormap(self):
        """Whether a column is painted through the colormap (then a colour scale is drawn)."""
        shapes = [np.shape(_column_values(column)) for column in self.values()]
        return any(isinstance(column, Overlay) for column in self.values()) or any(
            len(shape) == 3 or len(shape) == 4 and shape[-1] == 1 for shape in shapes)

    def _top(self):
        return (TITLE_PIXELS if self.title else 0) + HEADER_PIXELS

    def _size_inches(self, blocks):
        width = sum(block.width for block in blocks) + COLORBAR_PIXELS * self._has_colormap()
        return width / DPI, (CELL_PIXELS * self.num_rows + self._top()) / DPI

    def _lines(self, block, row):
        """The text lines of ``block``'s cell in ``row``: the value, or "name: value" each."""
        if len(block.names) == 1:
            return [block.cells[0][row]]
        return [f"{name}: {cells[row]}" for name, cells in zip(block.names, block.cells)]

    def _header(self, name):
        method = getattr(self[name], "method", None)
        return f"{name}: {method}" if method else name

    def _wrong_rows(self):
        if not self.checked:
            return set()
        truth, predicted = (self._cells(self[key]) for key in self.checked)
        return {row for row, (a, b) in enumerate(zip(truth, predicted)) if a != b}

    def _draw(self, fig, blocks):
        """The table as ONE image placed pixel for pixel, with text on top: a grid of 40 Axes
        took about a second per figure to build, this takes a few hundredths."""
        if not self.num_rows:
            return
        cell, top = CELL_PIXELS, self._top()
        width = sum(block.width for block in blocks) + COLORBAR_PIXELS * self._has_colormap()
        canvas = np.ones((top + cell * self.num_rows, width, 3), np.float32)
        texts = []  # (x, y, text, matplotlib text options)
        if self.title:
            texts.append((8, TITLE_PIXELS / 2, self.title,
                          {"ha": "left", "fontsize": TITLE_FONT_SIZE, "weight": "bold"}))
        wrong, left = self._wrong_rows(), 0
        for block in blocks:
            header = " / ".join(block.names) if block.is_text else _wrap(self._header(block.names[0]),
                                                                          block.width)
            texts.append((left + block.width / 2, top - HEADER_PIXELS / 2, header, {}))
            for row in range(self.num_rows):
                row_top = top + cell * row
                if block.is_text:
                    texts += self._text_cell(block, row, left, row_top, row in wrong)
                    if row in wrong:  # a red bar beside the row
                        canvas[row_top + CELL_MARGIN:row_top + cell - CELL_MARGIN, left:left + 4] = WRONG
                    continue
                inner = cell - 2 * CELL_MARGIN
                canvas[row_top + CELL_MARGIN:row_top + CELL_MARGIN + inner,
                       left + CELL_MARGIN:left + CELL_MARGIN + inner] = _resize(block.cells[0][row], inner)
            left += block.width
        if self._has_colormap():
            texts += self._colorbar(canvas, left, top)
        from matplotlib.transforms import IdentityTransform

        fig.figimage(canvas, origin="upper")  # pixel for pixel: no Axes, no resampling
        pixels, height = IdentityTransform(), canvas.shape[0]
        for x, y, text, options in texts:
            fig.text(x, height - y, text, transform=pixels,
                     **{"ha": "center", "va": "center", "fontsize": FONT_SIZE, **options})

    def _text_cell(self, block, row, left, row_top, wrong):
        """The cell's lines, centred; a wrong prediction's line red and marked with a cross."""
        lines = self._lines(block, row)
        first = row_top + CELL_PIXELS / 2 - LINE_PIXELS * (len(lines) - 1) / 2
        texts = []
        for index, (name, line) in enumerate(zip(block.names, lines)):
            options = {}
            if wrong and self.checked and name == self.checked[1]:
                line, options = f"\u2717 {line}", {"color": WRONG, "weight": "bold"}
            texts.append((left + block.width / 2, first + LINE_PIXELS * index, line, options))
        return texts

    def _colorbar(self, canvas, left, top):
        """The colormap's 0-1 scale as a bar beside the maps (pixels into ``canvas``), and the
        texts that label it."""
        height = min(canvas.shape[0] - top - 2 * CELL_MARGIN, 2 * CELL_PIXELS)
        bar_top, bar_left = top + CELL_MARGIN, left + 8
        values = np.linspace(1, 0, height)[:, None].repeat(12, axis=1)
        canvas[bar_top:bar_top + height, bar_left:bar_left + 12] = _colorize(values, self.colormap)
        ticks = [(bar_left + 16, bar_top + (1 - value) * (height - 1), f"{value:g}",
                  {"ha": "left", "fontsize": FONT_SIZE - 2}) for value in (1, 0.5, 0)]
        name = (bar_left + 44, bar_top + height / 2, "each map scaled to 0\u20131",
                {"rotation": 90, "fontsize": FONT_SIZE - 2})
        return [*ticks, name]

    def _cells(self, column):
        """A column as displayable cells: strings, or (B, H, W, 3) RGB floats in [0, 1]."""
        if isinstance(column, Overlay):
            images = _rgb(_column_values(column.images), self.colormap)
            masks = np.asarray(_column_values(column.masks), np.float32).reshape(images.shape[:3])
            opacity = (column.alpha * np.clip(masks, 0, 1))[..., None]
            return (1 - opacity) * images + opacity * _colorize(masks, self.colormap)
        values = _column_values(column)
        if isinstance(values, np.ndarray) and values.ndim >= 3 and values.dtype.kind in "biuf":
            return _rgb(values, self.colormap)
        return [_text(value) for value in values]


def _wrap(text, width):
    """``text`` on lines that fit ``width`` pixels (at most two; words are not split)."""
    fits = max(int(width / CHAR_PIXELS), 1)
    lines = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= fits:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines[:1] + [" ".join(lines[1:])] if len(lines) > 2 else lines)


def _column_values(column):
    """Lists and tuples stay as they are; tensors and other array-likes become NumPy arrays."""
    if isinstance(column, Overlay):
        return _column_values(column.images)
    return column if isinstance(column, (list, tuple)) else np.asarray(column)


def _text(value):
    """A cell's one line (a line break in a value would overlap the next line)."""
    value = np.asarray(value)
    if value.size == 1:
        value = value.reshape(()).item()
    return f"{value:.3g}" if isinstance(value, float) else " ".join(str(value).splitlines())


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
