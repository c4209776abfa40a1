"""``xaiexp ui`` and the links xaiexp prints: the server's own address for a tracking server,
the training-run view of MLflow 3.17, and a UI exposed with ``--host``."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from tests.support.browser import _stop_group, free_port
from tests.support.cli import run_cli

from xaiexp.tracking.ui.links import run_link


def test_links_open_the_training_view_on_the_server_that_holds_the_run():
    view = "/#/experiments/7/runs/abc?workflowType=machine_learning"
    assert run_link("sqlite:////home/me/outputs/mlflow.db", "7", "abc") == "http://127.0.0.1:5000" + view
    assert run_link("http://mlflow-host:5001/", "7", "abc") == "http://mlflow-host:5001" + view
    assert run_link("https://mlflow.example.org", "7", "abc") == "https://mlflow.example.org" + view


def status_with_host(port, host):
    """The status of a REST call to the server on ``port`` sent with the Host header ``host``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/2.0/mlflow/experiments/search?max_results=1", headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.slow
def test_ui_on_every_interface_warns_and_accepts_this_machines_name(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "xaiexp", "ui", "--host", "0.0.0.0", "--port", str(port)],
                              env={**os.environ, "XAIEXP_HOME": str(tmp_path)}, stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any("ready at" in line for line in lines):
            lines.append(server.stderr.readline())
            assert lines[-1] or server.poll() is None, "".join(lines)
        warning = "xaiexp: warning: --host 0.0.0.0 exposes the UI"
        warnings = [n for n, line in enumerate(lines) if line.startswith(warning)]
        assert warnings and warnings[0] < len(lines) - 1, "".join(lines)  # said before "ready"
        assert status_with_host(port, f"{socket.gethostname()}:{port}") == 200  # MLflow alone: 403
        assert status_with_host(port, f"localhost:{port}") == 200
        assert status_with_host(port, f"attacker.example:{port}") == 403
    finally:
        _stop_group(server)


@pytest.mark.parametrize("args, named", [
    (["--port", "{busy}"], "--port {busy}: cannot listen on 127.0.0.1:{busy}: Address already in use"),
    (["--port", "99999"], "argument --port: must be a port number, 1..65535, got '99999'"),
    (["--host", "192.0.2.1"], "--host 192.0.2.1: not an address of this machine"),  # TEST-NET-1
    (["--uri", "sqlite:///{tmp}/notes.txt"], "--uri: {tmp}/notes.txt is a file, not a SQLite database"),
    (["--uri", "sqlite:///{tmp}"], "--uri: {tmp} is a folder, not a SQLite database"),
], ids=["busy port", "port out of range", "foreign host", "not a database", "a folder"])
def test_a_ui_that_cannot_start_says_why_in_one_line_at_once(tmp_path, args, named):
    """Checked before MLflow's server starts: it took ~70 s to report a busy port (then exited 0),
    hung after a traceback on --port 99999, and gave a traceback for a text file."""
    (tmp_path / "notes.txt").write_text("not a database")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        fill = lambda text: text.replace("{busy}", str(port)).replace("{tmp}", str(tmp_path))  # noqa: E731
        start = time.monotonic()
        result = run_cli("ui", *map(fill, args), timeout=60, env={"XAIEXP_HOME": str(tmp_path / "home")})
    assert time.monotonic() - start < 10
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith("xaiexp: error: ") and fill(named) in line, line


@pytest.mark.slow
def test_signals_to_the_ui_stop_it_and_its_server_once(tmp_path):
    """A SIGTERM to the UI's process group, then another while it stops (a supervisor's retry):
    the UI ends with code 0 and nothing is left listening. (MLflow's server, which two SIGTERMs
    deadlocked in a CI run, now has a group of its own and hears one, from ``xaiexp ui``; the race
    itself is timing-bound, so this checks the stop, not the race.)"""
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "xaiexp", "ui", "--port", str(port)],
                          env={**os.environ, "XAIEXP_HOME": str(tmp_path)}, stderr=subprocess.PIPE,
                          stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        for line in ui.stderr:
            if "ready at" in line:
                break
        for _ in range(2):
            os.killpg(ui.pid, signal.SIGTERM)
            time.sleep(0.05)
        assert ui.wait(timeout=60) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)
