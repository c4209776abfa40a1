"""Where an Optuna study lives, and how a job finds the trial it runs.

``hydra.sweeper.storage`` is one string: null keeps the study in the sweeper's memory; a database
URL (``sqlite:///outputs/optuna.db``, ``postgresql://user@host/db``, ``mysql://...``) is Optuna's
RDBStorage; any other string is a journal file (Optuna's JournalStorage), e.g.
``outputs/optuna.journal``. Relative paths are relative to the project root, where ``outputs/``
is. Every process given the same storage and ``study_name`` works on one study (see
https://optuna.readthedocs.io/en/stable/reference/storages.html).
"""

import os
import re
import time
from pathlib import Path

import optuna

from xaiexp.util.project import project_root
from xaiexp.util.sqlite_url import absolute_sqlite_url, sqlite_path

# A job's Optuna trial id; the sweeper sets it for each job through ``hydra.job.env_set``.
TRIAL_ENV = "XAIEXP_OPTUNA_TRIAL"
# Studies without storage, by name, for the jobs that run in the sweeper's own process.
IN_MEMORY: dict = {}


def open_storage(url: str | None):
    """The storage ``url`` names, for ``optuna.create_study(storage=...)`` (see the module doc)."""
    if url is None or not str(url).strip():
        return None
    url = str(url).strip()
    if is_journal(url):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(str(_under_root(url))))
    if sqlite_path(url):
        _under_root(url)
        url = absolute_sqlite_url(url, project_root())
        # writers queue for the file lock instead of failing after SQLite's default 5 s
        return _retry(lambda: optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}}))
    return _retry(lambda: optuna.storages.RDBStorage(url))


def is_journal(url: str) -> bool:
    """Whether storage ``url`` is a journal file (any string that is not a database URL)."""
    return "://" not in str(url).strip()


def storage_file(url: str) -> Path | None:
    """The file a journal or SQLite storage ``url`` keeps the study in; None for a server's."""
    url = str(url).strip()
    if not is_journal(url):
        return sqlite_path(url, project_root())
    path = Path(os.path.expanduser(url))
    return path if path.is_absolute() else Path(project_root()) / path


def _under_root(path):
    path = storage_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _retry(connect, attempts=5):
    """``connect()``; several processes creating one fresh database at once may collide on its
    tables, and the loser finds them made when it tries again."""
    for attempt in range(attempts):
        try:
            return connect()
        except Exception:  # sqlalchemy's OperationalError, IntegrityError ...
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def shown(url: str | None) -> str:
    """``url`` fit for logs and MLflow tags: a database password hidden."""
    if not url:
        return "in memory"
    return re.sub(r"^([\w+]+://[^:/@]*):[^@/]*@", r"\1:***@", str(url))


def job_trial(storage: str | None, study_name: str | None, pruner=None):
    """The Optuna trial this job runs, or None outside an Optuna sweep (or in a worker process
    that cannot reach an in-memory study)."""
    trial_id = os.environ.get(TRIAL_ENV)
    if trial_id is None:
        return None
    if storage:
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage),
                                  pruner=pruner or optuna.pruners.NopPruner())
    else:
        study = IN_MEMORY.get(study_name)
        if study is None:
            return None
    return optuna.trial.Trial(study, int(trial_id))
