"""Where runs go: the embedded SQLite store under outputs/, or a tracking server."""

from dataclasses import dataclass
from pathlib import Path

from xaiexp.util.project import project_root
from xaiexp.util.sqlite_url import sqlite_path

MLFLOW_TABLES = {"experiments", "runs", "metrics"}  # tables every MLflow tracking database holds


@dataclass(frozen=True)
class TrackingTarget:
    """A tracking URI and, for the embedded store, the folder that holds its artifacts.

    URIs are absolute, so runs started from any working directory land in one store.
    """

    uri: str
    artifact_root: str | None = None

    @classmethod
    def embedded(cls, root):
        outputs = Path(root).resolve() / "outputs"
        return cls(uri=f"sqlite:///{outputs / 'mlflow.db'}", artifact_root=(outputs / "mlartifacts").as_uri())

    @classmethod
    def from_config(cls, uri, root=None):
        """``tracking.uri`` (or ``--uri``) as given, or when it is null the embedded store under
        ``root``, by default the project's (``project_root``)."""
        return cls(uri=uri) if uri else cls.embedded(root or project_root())

    def exists(self):
        """False only for a SQLite store that was never created."""
        path = sqlite_path(self.uri)
        return path is None or path.exists()

    def ensure_store(self):
        """Create or check a SQLite store once, under a file lock beside it, before anything
        uses it: several processes starting together on a fresh store otherwise race through
        MLflow's schema migration and can leave it half-migrated for good. A server or another
        database needs nothing here."""
        path = sqlite_path(self.uri)
        if path is None:
            return
        import filelock

        from xaiexp.tracking.sqlite_store import prepare_store

        path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(f"{path}.lock"):
            prepare_store(self.uri, path, self.artifact_root)
