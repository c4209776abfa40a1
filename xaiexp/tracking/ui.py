"""``xaiexp ui``: the MLflow UI for the project's store, on 127.0.0.1 unless told otherwise."""

import argparse
import os
import sys

from xaiexp.util.project import project_root
from xaiexp.tracking.store import TrackingTarget


def server_command(target, host, port, workers=1):
    """The ``mlflow server`` command line for ``target`` (an embedded store or a remote URI)."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", target.uri,
               "--host", host, "--port", str(port), "--workers", str(workers)]
    if target.artifact_root:
        command += ["--default-artifact-root", target.artifact_root]
    return command


def main(argv):
    parser = argparse.ArgumentParser(
        prog="xaiexp ui", description="Browse xaiexp runs in the MLflow UI (Ctrl-C stops it).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--uri", default=None,
                        help="tracking store (default: the embedded store under outputs/)")
    args = parser.parse_args(argv)
    target = TrackingTarget.from_config(args.uri, project_root())
    target.ensure_store()
    print(f"xaiexp: MLflow UI for {target.uri} at http://{args.host}:{args.port} (Ctrl-C to stop)",
          flush=True)
    command = server_command(target, args.host, args.port)
    os.execv(command[0], command)  # become the server: signals reach it, nothing is orphaned
