"""Where a project's ``outputs/`` (runs, the MLflow store, reports) live, and the package's
configs."""

import os
from pathlib import Path


def project_root() -> str:
    """$XAIEXP_HOME, else the source checkout xaiexp runs from, else the working directory. One
    place, so runs from any directory land in one MLflow store."""
    if os.environ.get("XAIEXP_HOME"):
        return str(Path(os.environ["XAIEXP_HOME"]).expanduser().resolve())
    checkout = Path(__file__).resolve().parent.parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "conf").is_dir():
        return str(checkout)
    return str(Path.cwd())


def config_dir() -> str:
    """The package's conf/ (in a checkout, a link to the top-level conf/ that users edit)."""
    return str(Path(__file__).resolve().parent.parent / "conf")
