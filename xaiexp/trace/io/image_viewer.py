"""ImageViewer: figures and images shown inline when running in a notebook."""

import logging

from xaiexp.trace.trace import Trace
from xaiexp.util.img_data import ImgData

logger = logging.getLogger(__name__)


def notebook_display():
    """IPython's ``display`` inside a notebook kernel; None in scripts and terminals."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    return display if shell is not None and hasattr(shell, "kernel") else None


class ImageViewer(Trace):
    """Shows each epoch's ``inputs`` (ImgData figures, or image batches painted as one) in the
    notebook. Without a notebook it does nothing, and says so once in the log."""

    def __init__(self, inputs, mode=None):
        super().__init__(inputs=inputs, mode=mode)
        self._noted_headless = False

    def needs_batch(self):
        return False

    def on_epoch_end(self, data):
        keys = [key for key in self.inputs if key in data]
        if not keys:
            return
        display = notebook_display()
        if display is None:
            if not self._noted_headless:
                logger.info("ImageViewer: not in a notebook, so %s will not be shown; "
                            "use ImageSaver to keep them as files", keys)
                self._noted_headless = True
            return
        from IPython.display import Image

        for key in keys:
            display(Image(data=ImgData.of(key, data[key]).paint_png()))
