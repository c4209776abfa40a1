"""ImageSaver: figures and images as PNG files, one per key and epoch."""

import logging
import os

from xaiexp.trace.trace import Trace
from xaiexp.util.img_data import ImgData
from xaiexp.util.util import safe_name

logger = logging.getLogger(__name__)


class ImageSaver(Trace):
    """Saves each epoch's ``inputs`` (ImgData figures, or image batches painted as one) to
    ``save_dir/{key}_{mode}_epoch_{epoch}.png``."""

    def __init__(self, inputs, save_dir=".", mode=None):
        super().__init__(inputs=inputs, mode=mode)
        self.save_dir = save_dir

    def needs_batch(self):
        return False

    def on_epoch_end(self, data):
        for key in self.inputs:
            if key in data:
                name = f"{safe_name(key)}_{self.system.mode}_epoch_{self.system.epoch_idx}.png"
                path = os.path.join(self.save_dir, name)
                os.makedirs(self.save_dir, exist_ok=True)
                with open(path, "wb") as file:
                    file.write(ImgData.of(key, data[key]).paint_png())
                logger.info("ImageSaver: saved %s", path)
