"""Which process owns a run: an OS file lock on ``<output folder>/owner.lock``, held while the
run trains, and ``owner.json`` beside it naming the process for messages (a sweep's parent run:
``sweep-<run id>.lock`` and ``.json`` in the sweep's folder, which several sweeps may share).

A lock rather than a heartbeat: the kernel releases it the instant its process dies (kill -9,
OOM, a crash), so "alive" needs no clock, no timeout to tune and no writes while training,
and it lives beside the checkpoint it guards, where a resume has to run anyway.
"""

import contextlib
import datetime
import json
import os
import socket

import filelock

OWNER = "owner"  # owner.lock, owner.json


class RunOwnership:
    """The ownership of the run whose files are in ``folder`` (``<name>.lock``, ``<name>.json``)."""

    def __init__(self, folder: str, name: str = OWNER):
        self.folder = folder
        self._lock = filelock.FileLock(os.path.join(folder, f"{name}.lock"), timeout=0)
        self._owner_file = os.path.join(folder, f"{name}.json")

    def acquire(self) -> bool:
        """Take the run for this process (and record who it is); False if a live process has it."""
        os.makedirs(self.folder, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            return False
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        with open(self._owner_file, "w") as file:
            json.dump(owner, file)
        return True

    def release(self) -> None:
        self._lock.release()

    @contextlib.contextmanager
    def unclaimed(self):
        """Hold the lock without claiming the run (``owner.json`` keeps naming the last owner);
        yields False when a live process (this one included) owns the run. Whoever settles a
        dead owner's run holds it meanwhile, so that no other process settles it at once and no
        resume starts it halfway."""
        probe = filelock.FileLock(self._lock.lock_file, timeout=0)
        try:
            probe.acquire()
        except filelock.Timeout:
            yield False
            return
        try:
            yield True
        finally:
            probe.release()

    def who(self) -> str:
        """e.g. "pid 4242 on host1 since 2026-12-02T08:00:00+00:00", from owner.json."""
        try:
            with open(self._owner_file) as file:
                owner = json.load(file)
            return f"pid {owner['pid']} on {owner['host']} since {owner['since']}"
        except (OSError, ValueError, KeyError):
            return "an unknown process"
