"""The links to MLflow UI pages that xaiexp prints (after a run, a sweep, an explanation).

MLflow 3.17 opens a page in its GenAI layout unless the URL asks for the training one: every link
carries ``?workflowType=machine_learning`` inside the hash route, the one place its router reads it
(checked in Chromium: before the ``#`` it is ignored).
"""

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000  # where `xaiexp ui` serves
TRAINING_VIEW = "?workflowType=machine_learning"


def serves_its_own_ui(tracking_uri: str) -> bool:
    """A tracking server (http or https) serves the UI itself; any other store needs `xaiexp ui`."""
    return tracking_uri.startswith(("http://", "https://"))


def ui_address(tracking_uri: str) -> str:
    """Where the UI of ``tracking_uri`` is: a tracking server serves its own; any other store is
    browsed with ``xaiexp ui`` at its default address."""
    if serves_its_own_ui(tracking_uri):
        return tracking_uri.rstrip("/")
    return f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page, opened as a training run."""
    return f"{ui_address(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}{TRAINING_VIEW}"


def how_to_open(tracking_uri: str, link: str) -> str:
    """``open <link>``, after starting ``xaiexp ui`` when no server serves the store."""
    if serves_its_own_ui(tracking_uri):
        return f"open {link}"
    return f"browse it with `xaiexp ui`, then open {link}"
