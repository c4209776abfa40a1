"""Where a shortcut may sit, named in the config rather than drawn as masks in the data: a box
(a watermark, a date stamp, a logo in a corner) or the image's border (a frame, scanner edges).

A region is a callable ``region(images, labels) -> (B, H, W, 1) uint8 masks`` (1: decoy), so a
user's own function of the same signature serves as well (``decoy=...`` with ``_target_``);
the Saliency trace scores the maps against the masks as it scores them against the object's
(``decoy_mass``, ``decoy_pointing_game``) and ``ShortcutCheck`` turns that into a verdict.
"""

from dataclasses import dataclass

import numpy as np

from xaiexp.util.bounds import bounded


@dataclass(frozen=True)
class Box:
    """A rectangle ``height`` × ``width`` pixels whose top-left corner is at (``top``, ``left``)
    of the image the model sees (after resizing); a negative ``top`` or ``left`` counts from
    the bottom or right edge (``top=-12, left=-12, height=12, width=12``: the bottom-right
    corner)."""

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self):
        if self.height < 1 or self.width < 1:
            raise ValueError(f"a decoy box needs height and width >= 1, got {self.height}x{self.width}")

    def __call__(self, images, labels=None):
        count, rows, columns = np.shape(images)[:3]
        top, left = self.top % rows if self.top < 0 else self.top, (
            self.left % columns if self.left < 0 else self.left)
        if top + self.height > rows or left + self.width > columns:
            raise ValueError(f"the decoy box {self.height}x{self.width} at ({self.top}, {self.left}) "
                             f"does not fit the {rows}x{columns} images")
        masks = np.zeros((count, rows, columns, 1), np.uint8)
        masks[:, top:top + self.height, left:left + self.width] = 1
        return masks


@dataclass(frozen=True)
class Border:
    """The frame ``width`` pixels wide along every edge of the image."""

    width: int

    def __call__(self, images, labels=None):
        count, rows, columns = np.shape(images)[:3]
        if not 1 <= self.width < min(rows, columns) / 2:
            raise ValueError(f"a decoy border {self.width} pixels wide does not fit the "
                             f"{rows}x{columns} images")
        masks = np.ones((count, rows, columns, 1), np.uint8)
        masks[:, self.width:rows - self.width, self.width:columns - self.width] = 0
        return masks


@dataclass
class BoxConfig:
    """A decoy region: a rectangle of the model's input, in pixels (negative: from the end)."""
    _target_: str = "xaiexp.xai.decoy.Box"  # "???": required (OmegaConf's MISSING)
    top: int = "???"
    left: int = "???"
    height: int = bounded("???", minimum=1)
    width: int = bounded("???", minimum=1)


@dataclass
class BorderConfig:
    """A decoy region: the frame ``width`` pixels wide along the image's edges."""
    _target_: str = "xaiexp.xai.decoy.Border"
    width: int = bounded("???", minimum=1)


SCHEMAS = (BoxConfig, BorderConfig)
