"""When the tracking server goes away mid-run: bounded waits, training goes on, nothing is lost.

MLflow's own HTTP client retries a failed call 7 times with growing pauses and waits up to 120 s
for each answer (~4 minutes a call, 17 minutes for a run's few calls); ``bound_failures``
sets its environment variables (``MLFLOW_HTTP_REQUEST_*``, see MLflow's
``mlflow.environment_variables``) to a few seconds instead, unless the user set them.

A call that still cannot reach the server puts the run's ``Outbox`` in "away" mode: metrics,
tags and the run's final status are appended to ``pending.jsonl`` in its folder (one JSON
object a line: ``{"metric": [key, value, timestamp, step]}``, ``{"tag": [key, value]}``,
``{"status": "FINISHED", "end_time": ms}``); figures and artifacts are skipped. Before each later
send, one short GET ``/health`` asks whether the server is back: if so, the file is sent and
removed. The run's last call (its status) is tried once, as briefly: a hung server costs one
retry cycle, never two. At the end of the run, one line says where whatever could not be sent is
kept. The file is part of the run: whoever next starts on it sends what a dead process left
(see ``dead_runs``).
"""

import contextlib
import functools
import json
import logging
import os
import sys
import tempfile
import time
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
HEALTH_TIMEOUT = 2  # seconds for GET /health, and for the last call, while the server is away
BATCH = 1000  # MLflow's most metrics a log_batch call
OUTBOX_DIR = "tracking_outbox"  # in the run's folder (see outbox_folder)
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


def outbox_folder(run_folder) -> Path:
    """Where the run whose folder is ``run_folder`` keeps what it could not send."""
    return Path(run_folder) / OUTBOX_DIR


def kept_records(path) -> list:
    """The records of ``path``, in order. A line that is not a whole record is skipped with one
    line saying so: appends only ever tear the line being written when a process dies."""
    records = []
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError:
            if line.strip():
                print(f"xaiexp: skipped line {number} of {path}: not a whole record (its process "
                      f"died while writing it)", file=sys.stderr)
    return records


def send_kept(client, run_id, path) -> tuple:
    """Send what ``path`` keeps for ``run_id`` through ``client`` (metrics, tags, then the final
    status), then remove the file; returns (how many metrics, the status or None). Sending again
    after a failure halfway is safe: MLflow's stores drop a metric logged twice with the same
    timestamp, and tags and statuses are overwritten."""
    records = kept_records(path)
    metrics = [Metric(*record["metric"]) for record in records if "metric" in record]
    tags = [RunTag(*record["tag"]) for record in records if "tag" in record]
    ends = [record for record in records if "status" in record]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + BATCH])
    if tags:
        client.log_batch(run_id, tags=tags)
    for end in ends:
        client.set_terminated(run_id, end["status"], end.get("end_time"))
    Path(path).unlink()
    return len(metrics), ends[-1]["status"] if ends else None


@contextlib.contextmanager
def one_short_try():
    """MLflow calls in the block try once and wait ``HEALTH_TIMEOUT`` at most (MLflow reads its
    ``MLFLOW_HTTP_REQUEST_*`` variables at every call): for a server just found away."""
    saved = {name: os.environ.get(name) for name in HTTP_WAITS}
    os.environ.update({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                       "MLFLOW_HTTP_REQUEST_TIMEOUT": str(HEALTH_TIMEOUT)})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Outbox:
    """What a run sends to a tracking server, kept in ``folder`` while the server is away.

    One per run (``Outbox.of``): the MLflow trace sends its metrics through it, the run's
    lifecycle its tags and final status, so all of them wait in one file.
    """

    _open = {}

    @classmethod
    def of(cls, run_id, folder=None):
        """The run's outbox, made on first use, keeping what waits in ``folder`` (the first one
        given; an xaiexp run gives ``<run folder>/tracking_outbox``; None: a temporary folder)."""
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
            if not self.call(functools.partial(self.client.log_batch, self.run_id, metrics=metrics[:BATCH])):
                self._keep({"metric": [m.key, m.value, m.timestamp, m.step]} for m in metrics)
                return
            metrics = metrics[BATCH:]

    def set_tags(self, tags):
        """Set the run's tags ({key: value}), or keep them."""
        entities = [RunTag(key, str(value)) for key, value in tags.items()]
        if not self.call(lambda: self.client.log_batch(self.run_id, tags=entities)):
            self._keep({"tag": [tag.key, tag.value]} for tag in entities)

    def end(self, status) -> bool:
        """End the active run with ``status`` (or keep the status, to send later), then say
        where anything that could not be sent is; whether the server has it all. While the
        server is away, the end is tried once, briefly, and doubles as the check whether it is
        back: the run already waited one full retry cycle for it."""
        Outbox._open.pop(self.run_id, None)
        end_time = int(time.time() * 1000)
        try:
            with one_short_try() if self.away else contextlib.nullcontext():
                mlflow.end_run(status=status)  # takes the run off MLflow's stack, then tells the server
        except Exception as error:  # noqa: BLE001 - only an unreachable server is absorbed
            if not unreachable(error):
                raise
            if not self.away:
                self._went_away(error)
            self._keep([{"status": status, "end_time": end_time}])
        else:
            if self.away:  # back after all: what waited follows the status
                self._returned()
        if self.away:
            print(f"xaiexp: the tracking server {self.uri} is still unreachable: what run "
                  f"{self.run_id} could not send is kept in {self.pending} ({self.skipped} "
                  f"figure(s) and artifact(s) skipped)", file=sys.stderr)
        return not self.away

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
        return answers(self.uri, HEALTH_TIMEOUT) and self._returned()

    def _returned(self):
        """The server answers again: send the kept records in order; the file goes once all of
        them are in. False if it went away meanwhile."""
        self.away = False
        if not self.pending.exists():
            return True
        try:
            sent, _ = send_kept(self.client, self.run_id, self.pending)
        except Exception as error:  # noqa: BLE001 - away again: the file stays whole
            if not unreachable(error):
                raise
            self.away = True
            return False
        print(f"xaiexp: the tracking server {self.uri} is back: {sent} kept metric(s) sent",
              file=sys.stderr)
        return True

    def _keep(self, records):
        """Append ``records``, on disk before this returns: the trace counts them as sent, and the
        next checkpoint no longer holds them. A line torn by a process that died while writing
        it is ended first, so that it stays the only record lost."""
        self.pending.parent.mkdir(parents=True, exist_ok=True)
        with open(self.pending, "ab") as file:
            if file.tell() and not _ends_a_line(self.pending):
                file.write(b"\n")
            file.write("".join(json.dumps(record) + "\n" for record in records).encode())
            file.flush()
            os.fsync(file.fileno())


def _ends_a_line(path):
    with open(path, "rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
