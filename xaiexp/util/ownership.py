"""Which process owns a run: an OS file lock on ``<output folder>/owner.lock``, held while the
run trains, and ``owner.json`` beside it naming the process for messages.

A lock rather than a heartbeat: the kernel releases it the instant its process dies (kill -9,
OOM, a crash), so "alive" needs no clock, no timeout to tune and no writes while training,
and it lives beside the checkpoint it guards, where a resume has to run anyway.
"""

import datetime
import json
import os
import socket

import filelock

LOCK_FILE = "owner.lock"
OWNER_FILE = "owner.json"


class RunOwnership:
    """The ownership of the run whose files are in ``folder``."""

    def __init__(self, folder: str):
        self.folder = folder
        self._lock = filelock.FileLock(os.path.join(folder, LOCK_FILE), timeout=0)

    def acquire(self) -> bool:
        """Take the run for this process (and record who it is); False if a live process has it."""
        os.makedirs(self.folder, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            return False
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        with open(os.path.join(self.folder, OWNER_FILE), "w") as file:
            json.dump(owner, file)
        return True

    def release(self) -> None:
        self._lock.release()

    def is_alive(self) -> bool:
        """Whether a live process (this one included) owns the run now."""
        if not os.path.isdir(self.folder):
            return False
        probe = filelock.FileLock(self._lock.lock_file, timeout=0)
        try:
            probe.acquire()
        except filelock.Timeout:
            return True
        probe.release()
        return False

    def describe(self) -> str:
        """e.g. "pid 4242 on host1 since 2026-12-02T08:00:00+00:00", from owner.json."""
        try:
            with open(os.path.join(self.folder, OWNER_FILE)) as file:
                owner = json.load(file)
            return f"pid {owner['pid']} on {owner['host']} since {owner['since']}"
        except (OSError, ValueError, KeyError):
            return "an unknown process"
