"""Whether an MLflow server answers: one short ``GET /health`` (``xaiexp ui`` waits on it, the
Outbox asks it whether a server that went away is back)."""

import urllib.request


def answers(url: str, timeout: float) -> bool:
    """True when ``url``/health answers with a success status within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout):
            return True
    except (OSError, ValueError):  # refused, timed out, an HTTP error status, a malformed URL
        return False
