"""When the tracking server goes away mid-run: bounded waits, training goes on, nothing is lost.

MLflow's own HTTP client retries a failed call 7 times with growing pauses and waits up to 120 s
for each answer (~4 minutes a call, 17 minutes for a run's few calls); ``bound_failures``
sets its environment variables (``MLFLOW_HTTP_REQUEST_*``, see MLflow's
``mlflow.environment_variables``) to a few seconds instead, unless the user set them.

A call that still cannot reach the server puts the run's ``Outbox`` in "away" mode: metrics,
tags and the run's final status are appended to ``pending.jsonl`` in its folder (one JSON
object a line: ``{"metric": [key, value, timestamp, step]}``, ``{"tag": [key, value]}``,
``{"status": "FINISHED"}``); figures and artifacts are skipped. Before each later send, one
short GET ``/health`` asks whether the server is back: if so, the file is sent and removed. At
the end of the run, one line says where whatever could not be sent is kept.
"""

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import mlflow
import requests
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException, RestException

from xaiexp.tracking.health import answers

# MLflow's names; each applies unless the user set it. ~3 s per call to a dead server (the
# second retry waits 2 s), at most ~1 minute to a hung one.
HTTP_WAITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
              "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
HEALTH_TIMEOUT = 2.0  # seconds for GET /health while the server is away
BATCH = 1000  # MLflow's most metrics a log_batch call
PENDING = "pending.jsonl"
# (words in requests' or urllib3's message, what to tell the user), first match wins
_REASONS = ((("refused",), "connection refused"), (("timed out", "imeout"), "no answer in time"),
            (("reset", "aborted", "closed connection", "Disconnected"), "connection lost"))


def bound_failures():
    """Bound how long and how loudly a failing tracking call takes: MLflow's retries and timeouts
    (see the module doc), urllib3's warning per retry and the traceback MLflow's SQL store logs
    before raising (a full disk printed 238 lines): the run's error, or the outbox, says what
    came of them in one line."""
    for name, value in HTTP_WAITS.items():
        os.environ.setdefault(name, value)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def unreachable(error):
    """Whether ``error`` means the server could not be reached (not that it answered "no")."""
    if isinstance(error, RestException):
        return False
    if isinstance(error, (requests.exceptions.RequestException, ConnectionError, TimeoutError)):
        return True
    return isinstance(error, MlflowException) and str(error).startswith("API request to")


class Outbox:
    """What a run sends to a tracking server, kept in ``folder`` while the server is away.

    One per run (``Outbox.of``): the MLflow trace sends its metrics through it, the run's
    lifecycle its tags and final status, so all of them wait in one file.
    """

    _open = {}

    @classmethod
    def of(cls, run_id, folder=None):
        """The run's outbox, made on first use; ``folder`` None: a temporary folder."""
        if run_id not in cls._open:
            cls._open[run_id] = cls(run_id)
        box = cls._open[run_id]
        if box.folder is None and folder:
            box.folder = Path(folder)
        return box

    def __init__(self, run_id):
        self.run_id, self.folder = run_id, None
        self.uri = mlflow.get_tracking_uri()
        self.client = mlflow.MlflowClient(self.uri)
        self.away = False
        self.skipped = 0

    @property
    def pending(self):
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="xaiexp-outbox-"))
        return self.folder / PENDING

    def send_metrics(self, metrics):
        """Log ``metrics`` (MLflow Metric entities) in batches, or keep those not sent."""
        metrics = list(metrics)
        while metrics:
            if not self.call(lambda: self.client.log_batch(self.run_id, metrics=metrics[:BATCH])):
                self._keep({"metric": [m.key, m.value, m.timestamp, m.step]} for m in metrics)
                return
            metrics = metrics[BATCH:]

    def set_tags(self, tags):
        """Set the run's tags ({key: value}), or keep them."""
        entities = [RunTag(key, str(value)) for key, value in tags.items()]
        if not self.call(lambda: self.client.log_batch(self.run_id, tags=entities)):
            self._keep({"tag": [tag.key, tag.value]} for tag in entities)

    def end(self, status):
        """End the active run with ``status`` (or keep the status, to send later), then say
        where anything that could not be sent is."""
        Outbox._open.pop(self.run_id, None)
        if self.away:
            self._back()
        try:
            mlflow.end_run(status=status)  # takes the run off MLflow's stack, then tells the server
        except Exception as error:  # noqa: BLE001 - only an unreachable server is absorbed
            if not unreachable(error):
                raise
            if not self.away:
                self._went_away(error)
            self._keep([{"status": status}])
        if self.away:
            print(f"xaiexp: the tracking server {self.uri} is still unreachable: what run "
                  f"{self.run_id} could not send is kept in {self.pending} ({self.skipped} "
                  f"figure(s) and artifact(s) skipped)", file=sys.stderr)

    def fail(self, status, reason):
        """End the run ``status`` (FAILED, KILLED) with ``reason`` as its ``xaiexp.error`` tag,
        as far as the store lets: a store that cannot take it (a full disk) must not hide the
        error that ended the run."""
        try:
            self.set_tags({"xaiexp.error": reason})
            self.end(status)
        except Exception:  # noqa: BLE001 - the run's own error is the one to report
            if mlflow.active_run() and mlflow.active_run().info.run_id == self.run_id:
                with contextlib.suppress(Exception):
                    mlflow.end_run(status)  # off MLflow's stack, or its atexit hook tries again

    def call(self, send, skippable=False):
        """``send()`` unless the server is away; False when it could not be reached (a figure or
        artifact that ``skippable`` marks is then counted as skipped)."""
        if self.away and not self._back():
            self.skipped += skippable
            return False
        try:
            send()
            return True
        except Exception as error:  # noqa: BLE001 - only an unreachable server is absorbed
            if not unreachable(error):
                raise
            self._went_away(error)
            self.skipped += skippable
            return False

    def _went_away(self, error):
        self.away = True
        text = str(error)
        reason = next((said for words, said in _REASONS if any(w in text for w in words)),
                      " ".join(text.split())[:160])
        print(f"xaiexp: the tracking server {self.uri} went away ({reason}); training goes on, "
              f"metrics wait in {self.pending} and are sent when it is back", file=sys.stderr)

    def _back(self):
        """One short GET /health; when the server answers, what was kept is sent first."""
        if not answers(self.uri, HEALTH_TIMEOUT):
            return False
        self.away = False
        return self._resend()

    def _resend(self):
        """Send the kept records in order; the file goes once all of them are in."""
        if not self.pending.exists():
            return True
        records = [json.loads(line) for line in self.pending.read_text().splitlines() if line]
        metrics = [Metric(*record["metric"]) for record in records if "metric" in record]
        tags = [RunTag(*record["tag"]) for record in records if "tag" in record]
        statuses = [record["status"] for record in records if "status" in record]
        try:
            for start in range(0, len(metrics), BATCH):
                self.client.log_batch(self.run_id, metrics=metrics[start:start + BATCH])
            if tags:
                self.client.log_batch(self.run_id, tags=tags)
            for status in statuses:
                self.client.set_terminated(self.run_id, status)
        except Exception as error:  # noqa: BLE001 - away again: the file stays whole
            if not unreachable(error):
                raise
            self.away = True
            return False
        self.pending.unlink()
        print(f"xaiexp: the tracking server {self.uri} is back: {len(metrics)} kept metric(s) "
              f"sent", file=sys.stderr)
        return True

    def _keep(self, records):
        self.pending.parent.mkdir(parents=True, exist_ok=True)
        with open(self.pending, "a") as file:
            file.writelines(json.dumps(record) + "\n" for record in records)
