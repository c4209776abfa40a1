"""What a run prints besides its metric lines: short status lines, TensorFlow's start-up notices
once, and a copy of the whole console in the run's log file (see README "What a run does").

Status lines go to stderr as ``xaiexp: <what is happening>…``; with a terminal, a transient
status is drawn over by the next line instead.
"""

import contextlib
import os
import re
import sys
import tempfile

_log = None  # the open ConsoleLog, whose file also takes detail lines


def status(message: str) -> None:
    """One line saying what the run does next, so that no stretch of work is silent."""
    print(f"xaiexp: {message}", file=sys.stderr, flush=True)


def transient(message: str) -> None:
    """A status shown on a terminal until the next line replaces it; nothing elsewhere (a log
    would get one per epoch)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[Kxaiexp: {message}")
        sys.stderr.flush()


def clear_transient() -> None:
    """Wipe a transient status when what follows should not be drawn over it."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def detail(line: str) -> None:
    """A line for the run's log file only (e.g. every logged value of an epoch); dropped when no
    ConsoleLog is open."""
    if _log is not None:
        _log.file.write(line + "\n")
        _log.file.flush()


def log_path() -> str | None:
    """The open console log's file, if any."""
    return _log.path if _log is not None else None


class _Tee:
    """A text stream that writes to ``stream`` and copies finished lines to ``file``; text
    redrawn after a carriage return (a progress bar) is not copied."""

    def __init__(self, stream, file):
        self.stream, self.file, self.pending = stream, file, ""

    def write(self, text):
        self.stream.write(text)
        if self.file is None:  # the log closed; loggers made meanwhile may still hold this stream
            return len(text)
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.file.write(line.rpartition("\r")[2].replace("\033[K", "") + "\n")
        if "\r" in self.pending:
            self.pending = ""
        self.file.flush()
        return len(text)

    def flush(self):
        self.stream.flush()

    def close(self):
        """Never the real stream's: a handler that held this stream (absl's closes its stream
        when Hydra reconfigures logging for a sweep's next job) must not close stderr."""
        self.file = None

    def __getattr__(self, name):  # isatty, fileno, encoding ... of the real stream
        return getattr(self.stream, name)


class ConsoleLog:
    """Inside ``with ConsoleLog(path):``, what the process prints to stdout and stderr is also
    appended to ``path``, as are ``detail`` lines."""

    def __init__(self, path: str):
        self.path, self.file, self._previous = path, None, None

    def __enter__(self):
        global _log
        self.file = open(self.path, "a", encoding="utf-8")
        self._previous = _log, sys.stdout, sys.stderr
        _log, sys.stdout, sys.stderr = self, _Tee(sys.stdout, self.file), _Tee(sys.stderr, self.file)
        return self

    def __exit__(self, *exc_info):
        global _log
        sys.stdout.file = sys.stderr.file = None
        _log, sys.stdout, sys.stderr = self._previous
        self.file.close()


# TensorFlow's C++ start-up notice, printed once per shared library that carries it (two in
# TensorFlow 2.21) whatever TF_CPP_MIN_LOG_LEVEL says, each over 160 characters.
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_ONEDNN = re.compile(r"port\.cc:\d+\] oneDNN custom operations are on")


@contextlib.contextmanager
def tensorflow_notices_once():
    """Import TensorFlow inside: its start-up notices become one short line; anything else it
    prints to stderr meanwhile is passed on as it was, once per distinct line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            _pass_on(captured.read().decode(errors="replace").splitlines())


def _pass_on(lines):
    seen, onednn = set(), False
    for line in lines:
        if _ONEDNN.search(line):
            onednn = True
        elif line != _ABSL_PREAMBLE and line not in seen:
            seen.add(line)
            print(line, file=sys.stderr)
    if onednn:
        status("TensorFlow with oneDNN (last digits may vary; TF_ENABLE_ONEDNN_OPTS=0 turns it off)")
