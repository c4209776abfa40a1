"""The per-step data dictionary that flows through traces."""

from collections import ChainMap


class Data(ChainMap):
    """A batch's (or an epoch's) values, plus the subset that a trace wants logged.

    Traces read batch results like a dict and publish values with ``write_with_log`` (shown in
    the log lines and sent to MLflow) or ``write_without_log`` (visible to later traces only,
    e.g. a saliency figure for ImageSaver).
    """

    def __init__(self, batch_data=None):
        self.logs = {}
        super().__init__({}, self.logs, batch_data if batch_data is not None else {})

    def write_with_log(self, key, value):
        self.logs[key] = value

    def write_without_log(self, key, value):
        self.maps[0][key] = value

    def read_logs(self):
        return dict(self.logs)
