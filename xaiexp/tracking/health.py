"""Whether an MLflow server answers: one short ``GET /health`` (``xaiexp ui`` waits on it, the
Outbox asks it whether a server that went away is back); and, before a run logs to a server,
the two questions it must answer right: its health within seconds, and a read of its store."""

import json
import threading
import urllib.error
import urllib.request

from xaiexp.util.errors import first_line

SERVER_TIMEOUT = 5.0  # seconds for the tracking server to answer GET /health
SERVER_DEADLINE = 8.0  # seconds for the whole probe, name resolution included: never a hang
STORE_TIMEOUT = 10.0  # seconds for the server to answer a read of its store


def health_url(uri: str) -> str:
    return uri.rstrip("/") + "/health"


def answers(url: str, timeout: float) -> bool:
    """True when ``url``/health answers with a success status within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(health_url(url), timeout=timeout):
            return True
    except (OSError, ValueError):  # refused, timed out, an HTTP error status, a malformed URL
        return False


def server_problem(uri: str) -> str | None:
    """Why no run can log to the MLflow server at ``uri``, in one line; None when it can."""
    return _health_problem(uri) or _store_problem(uri)


def _health_problem(uri):
    """GET <uri>/health within SERVER_DEADLINE (in a thread: name resolution ignores socket
    timeouts); any HTTP answer but 404 and 5xx counts as a server."""
    url = health_url(uri)
    outcome = {}

    def probe():
        try:
            with urllib.request.urlopen(url, timeout=SERVER_TIMEOUT) as response:
                outcome["status"] = response.status
        except urllib.error.HTTPError as error:
            outcome["status"] = error.code
        except Exception as error:  # noqa: BLE001 - URLError, timeouts, bad ports: all a "no"
            outcome["error"] = error

    thread = threading.Thread(target=probe, name="xaiexp-tracking-probe", daemon=True)
    thread.start()
    thread.join(SERVER_DEADLINE)
    if thread.is_alive():
        reason = f"no answer within {SERVER_DEADLINE:g} s"
    elif "error" in outcome:
        reason = _reason(outcome["error"])
    elif outcome["status"] == 404 or outcome["status"] >= 500:
        return f"the server at {uri} answers GET {url} with HTTP {outcome['status']}: is it an MLflow server?"
    else:
        return None
    return f"no MLflow server answers at {uri} ({reason})"


def _reason(error):
    import socket

    cause = getattr(error, "reason", error)
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"no answer within {SERVER_TIMEOUT:g} s"
    if isinstance(cause, socket.gaierror):
        return f"unknown host: {cause.strerror or cause}"
    return str(cause) or type(cause).__name__


def _store_problem(uri):
    """A server that answers ``/health`` must also answer a read of its store: one whose database
    is down or refuses it answers 5xx, and one behind a login or a Host check 401/403."""
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(url, timeout=STORE_TIMEOUT):
            return None
    except urllib.error.HTTPError as error:
        status, message = error.code, _server_message(error)
    except (OSError, ValueError):  # gone since /health answered: the run's own calls will say
        return None
    if status in (401, 403):
        return (f"the MLflow server at {uri} refuses xaiexp (HTTP {status}: {message}); check its "
                f"--allowed-hosts or credentials")
    if status >= 500:
        return (f"the MLflow server at {uri} answers, but its store does not (HTTP {status}: "
                f"{message}); is its database up?")
    return None


def _server_message(error):
    try:
        body = error.read(4000).decode(errors="replace")
    except OSError:
        return error.reason
    try:
        return first_line(json.loads(body).get("message", body))
    except ValueError:
        return first_line(body) if body.strip() else str(error.reason)
