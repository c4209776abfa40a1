"""``xaiexp ui``: the MLflow UI for the project's store, on 127.0.0.1 unless told otherwise (the
links to its pages are ``links``'s)."""

import argparse
import contextlib
import errno
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

from xaiexp.tracking.health import answers
from xaiexp.tracking.store import TrackingTarget
from xaiexp.tracking.ui.links import DEFAULT_HOST, DEFAULT_PORT, TRAINING_VIEW, serves_its_own_ui, ui_address
from xaiexp.util.console import clear_transient, transient
from xaiexp.util.errors import ConfigError
from xaiexp.util.sqlite_url import is_sqlite_or_empty, sqlite_path

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def server_command(target, host, port, workers=1, allowed_hosts=None):
    """The ``mlflow server`` command line for ``target`` (an embedded store or a remote URI)."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", target.uri,
               "--host", host, "--port", str(port), "--workers", str(workers)]
    if target.artifact_root:
        command += ["--default-artifact-root", target.artifact_root]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts]
    return command


def default_allowed_hosts(host: str, port: int) -> str:
    """MLflow's own default (localhost, private networks) plus this machine's names and ``host``
    at ``port``: what a browser elsewhere sends as its Host header when it opens this server."""
    from mlflow.server.security_utils import get_default_allowed_hosts

    names = {socket.gethostname(), socket.getfqdn()} | ({host} - {"0.0.0.0", "::"})
    return ",".join([*get_default_allowed_hosts(), *sorted(f"{name}:{port}" for name in names)])


def wait_until_ready(url, server, timeout=300):
    """Poll ``url``/health until the server answers, with one status line that counts the
    seconds on a terminal; False if the server exits or stays silent for ``timeout`` s."""
    start = time.monotonic()
    try:
        while server.poll() is None and time.monotonic() - start < timeout:
            if answers(url, timeout=2):
                return True
            transient(f"starting the MLflow server … {time.monotonic() - start:.0f} s")
            time.sleep(0.5)
        return False
    finally:
        clear_transient()


class UiError(Exception):
    """Why the UI cannot start, in one line naming the option (checked before MLflow starts)."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"xaiexp: error: {self.prog}: {message}\n")


def port_number(text: str) -> int:
    """``--port``: a TCP port (0, "any free port", would leave the UI's address unknown)."""
    try:
        port = int(text)
    except ValueError:
        port = None
    if port is None or not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 1..65535, got {text!r}")
    return port


def check_port(host: str, port: int) -> None:
    """``host:port`` is free to listen on: bound here as uvicorn binds it (SO_REUSEADDR), then
    let go. MLflow's server, on a taken port, reports it only after starting (~70 s here)."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise UiError(f"--host {host}: not an address of this machine ({error.strerror})") from None
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                raise UiError(f"--host {host}: not an address of this machine ({error.strerror})") from None
            taken = " (another xaiexp ui or MLflow server?); choose another --port" \
                if error.errno == errno.EADDRINUSE else ""
            raise UiError(f"--port {port}: cannot listen on {host}:{port}: {error.strerror}{taken}") from None


def prepare_store(target: TrackingTarget, given: bool) -> None:
    """Create or check the store the UI shows (``TrackingTarget.ensure_store``): a file that is no
    SQLite database, or a store MLflow refuses, is named in one line."""
    option = "--uri" if given else "the embedded store"
    path = sqlite_path(target.uri)
    if path is not None and (path.is_dir() or not is_sqlite_or_empty(path)):
        raise UiError(f"{option}: {path} is {'a folder' if path.is_dir() else 'a file'}, not a SQLite database")
    try:
        target.ensure_store()
    except ConfigError as error:  # half-migrated, or from another MLflow version
        raise UiError(f"{option}: {str(error).removeprefix(f'{error.key}: ')}") from None
    except (OSError, sqlite3.DatabaseError) as error:
        raise UiError(f"{option}: {target.uri}: {error}") from None


def main(argv):
    parser = _OneLineParser(
        prog="xaiexp ui", description="Browse xaiexp runs in the MLflow UI (Ctrl-C stops it).")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT)
    parser.add_argument("--allowed-hosts", default=None,
                        help="Host headers the server accepts (MLflow's --allowed-hosts; default "
                             "with a non-local --host: localhost, private networks and this "
                             "machine's names)")
    parser.add_argument("--uri", default=None,
                        help="tracking store (default: the embedded store under outputs/)")
    args = parser.parse_args(argv)
    if serves_its_own_ui(args.uri or ""):
        print(f"xaiexp: {args.uri} is a tracking server, which serves the MLflow UI itself: open "
              f"{ui_address(args.uri)}/#/{TRAINING_VIEW}", file=sys.stderr)
        return
    target = TrackingTarget.from_config(args.uri)
    try:
        check_port(args.host, args.port)
        prepare_store(target, given=bool(args.uri))
    except UiError as error:
        print(f"xaiexp: error: {error}", file=sys.stderr)
        sys.exit(2)
    allowed = args.allowed_hosts
    if args.host not in LOOPBACK:
        print(f"xaiexp: warning: --host {args.host} exposes the UI and every run's data and "
              f"artifacts to the network, with no login", file=sys.stderr)
        allowed = allowed or default_allowed_hosts(args.host, args.port)
    shown_host = DEFAULT_HOST if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown_host}:{args.port}"
    print(f"xaiexp: starting the MLflow UI for {target.uri} at {url} (the first start takes ~30 s)",
          file=sys.stderr, flush=True)
    # The server has a process group of its own and gets exactly one SIGTERM, from us: MLflow's
    # server deadlocks in its signal handler when a second one arrives while it forwards the
    # first (a kill of our group plus our forwarding did that).
    server = _Server(server_command(target, args.host, args.port, allowed_hosts=allowed))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: server.stop())
    try:
        if wait_until_ready(url, server.process):
            print(f"xaiexp: MLflow UI ready at {url}/#/{TRAINING_VIEW} (Ctrl-C to stop)",
                  file=sys.stderr, flush=True)
        elif server.process.poll() is None:
            print(f"xaiexp: warning: the MLflow server has not answered {url}/health yet",
                  file=sys.stderr, flush=True)
        code = server.wait()
    except KeyboardInterrupt:
        server.stop()
        code = server.wait()
    sys.exit(code if code > 0 else 0)  # a signal's negative code: stopped as asked


class _Server:
    """The MLflow server process: stopped once, and killed with all it started if it has not
    ended ``GRACE`` seconds after."""

    GRACE = 20

    def __init__(self, command):
        self.process = subprocess.Popen(command, start_new_session=True)
        self.stopped_at = None

    def stop(self):
        """SIGTERM, the first time only; safe in a signal handler (it does not wait)."""
        if self.stopped_at is None and self.process.poll() is None:
            self.stopped_at = time.monotonic()
            self.process.terminate()

    def wait(self):
        """The server's exit code, once it has ended."""
        while True:
            try:
                return self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.stopped_at is not None and time.monotonic() - self.stopped_at > self.GRACE:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)
