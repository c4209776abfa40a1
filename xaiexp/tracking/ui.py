"""``xaiexp ui``: the MLflow UI for the project's store, on 127.0.0.1 unless told otherwise; and the
links to its pages that xaiexp prints.

MLflow 3.17 opens a page in its GenAI layout unless the URL asks for the training one: every link
carries ``?workflowType=machine_learning`` inside the hash route, the one place its router reads it
(checked in Chromium: before the ``#`` it is ignored).
"""

import argparse
import signal
import socket
import subprocess
import sys
import time

from xaiexp.tracking.health import answers
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.console import clear_transient, transient
from xaiexp.util.project import project_root

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000
TRAINING_VIEW = "?workflowType=machine_learning"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def ui_address(tracking_uri: str) -> str:
    """Where the UI of ``tracking_uri`` is: a tracking server serves its own; any other store is
    browsed with ``xaiexp ui`` at its default address."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page, opened as a training run."""
    return f"{ui_address(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}{TRAINING_VIEW}"


def how_to_open(tracking_uri: str, link: str) -> str:
    """``open <link>``, after starting ``xaiexp ui`` when no server serves the store."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"open {link}"
    return f"browse it with `xaiexp ui`, then open {link}"


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


def main(argv):
    parser = argparse.ArgumentParser(
        prog="xaiexp ui", description="Browse xaiexp runs in the MLflow UI (Ctrl-C stops it).")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--allowed-hosts", default=None,
                        help="Host headers the server accepts (MLflow's --allowed-hosts; default "
                             "with a non-local --host: localhost, private networks and this "
                             "machine's names)")
    parser.add_argument("--uri", default=None,
                        help="tracking store (default: the embedded store under outputs/)")
    args = parser.parse_args(argv)
    if (args.uri or "").startswith(("http://", "https://")):  # a tracking server serves its own UI
        print(f"xaiexp: {args.uri} is a tracking server, which serves the MLflow UI itself: open "
              f"{ui_address(args.uri)}/#/{TRAINING_VIEW}", file=sys.stderr)
        return
    target = TrackingTarget.from_config(args.uri, project_root())
    target.ensure_store()
    allowed = args.allowed_hosts
    if args.host not in LOOPBACK:
        print(f"xaiexp: warning: --host {args.host} exposes the UI and every run's data and "
              f"artifacts to the network, with no login", file=sys.stderr)
        allowed = allowed or default_allowed_hosts(args.host, args.port)
    shown_host = DEFAULT_HOST if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown_host}:{args.port}"
    print(f"xaiexp: starting the MLflow UI for {target.uri} at {url} (the first start takes ~30 s)",
          file=sys.stderr, flush=True)
    server = subprocess.Popen(server_command(target, args.host, args.port, allowed_hosts=allowed))
    # stop the server with us: Ctrl-C reaches its whole process group, SIGTERM is passed on
    signal.signal(signal.SIGTERM, lambda signum, frame: server.terminate())
    try:
        if wait_until_ready(url, server):
            print(f"xaiexp: MLflow UI ready at {url}/#/{TRAINING_VIEW} (Ctrl-C to stop)",
                  file=sys.stderr, flush=True)
        elif server.poll() is None:
            print(f"xaiexp: warning: the MLflow server has not answered {url}/health yet",
                  file=sys.stderr, flush=True)
        code = server.wait()
    except KeyboardInterrupt:
        server.terminate()
        code = server.wait()
    sys.exit(code if code > 0 else 0)  # a signal's negative code: stopped as asked
