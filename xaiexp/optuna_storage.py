"""An Optuna storage in one file, so that a stopped study resumes in the next sweep.

Optuna 2.10 (the version hydra-optuna-sweeper 1.3 pins) cannot use its SQLite storage next to
MLflow: it fails under SQLAlchemy 2.x (``assert version is not None``), which MLflow requires.
With optuna 2.x, :class:`FileStorage` is Optuna's in-memory storage that loads its state from a
pickle at construction and rewrites the file atomically (temporary file + ``os.replace``) after
every call that changes it. With optuna >= 3 the same config gives Optuna's own journal file
storage. Either way the file belongs to ONE sweep at a time (the last writer would win).

Hydra instantiates it from ``conf/hparams_search/optuna.yaml`` (``hydra.sweeper.storage``), in the
sweeper's process, where Optuna asks and tells every trial; jobs never touch it.
"""

import os
import pickle
from pathlib import Path

import optuna
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

FORMAT = "xaiexp.optuna_storage/1"
# The calls of optuna 2.10's InMemoryStorage that change its state (see optuna/storages/_base.py).
MUTATING = ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
            "set_study_directions", "create_new_trial", "set_trial_state", "set_trial_param",
            "set_trial_values", "set_trial_intermediate_value", "set_trial_user_attr",
            "set_trial_system_attr")


def file_storage(path=None):
    """The storage for ``optuna.create_study(storage=...)``: None (in memory) without ``path``,
    else a file storage at ``path`` (relative to the project root, where ``outputs/`` is)."""
    if path is None or not str(path).strip():
        return None
    path = Path(os.path.expanduser(str(path)))
    if not path.is_absolute():
        from xaiexp.util.project import project_root

        path = Path(project_root()) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    if int(optuna.__version__.split(".")[0]) >= 3:
        return _journal_storage(path)
    return FileStorage(path)


def _journal_storage(path):
    """Optuna >= 3's own file storage (its journal backend moved and was renamed in optuna 4)."""
    from optuna.storages import JournalStorage

    try:
        from optuna.storages.journal import JournalFileBackend as Backend
    except ImportError:
        from optuna.storages import JournalFileStorage as Backend
    return JournalStorage(Backend(str(path)))


class FileStorage(InMemoryStorage):
    """Optuna 2.x's in-memory storage, kept in a pickle at ``path`` (created on first write).

    A trial still RUNNING in the file belongs to a sweep that was stopped: loading marks it FAIL,
    so a resumed study does not wait for it nor count it as done.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            self._load()

    def __repr__(self):
        return f"{type(self).__name__}({str(self.path)!r})"

    def __getstate__(self):
        state = super().__getstate__()  # without the lock
        state.pop("path", None)
        return state

    def _load(self):
        with open(self.path, "rb") as file:
            saved = pickle.load(file)
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not an xaiexp Optuna study file")
        self.__dict__.update(saved["state"])
        stale = [trial_id for trial_id in self._trial_id_to_study_id_and_number
                 if self._get_trial(trial_id).state == TrialState.RUNNING]
        for trial_id in stale:
            super().set_trial_state(trial_id, TrialState.FAIL)
        if stale:
            self._save()

    def _save(self):
        """Write the whole state to a temporary file beside ``path``, then rename it over ``path``:
        a sweep killed mid-write leaves the previous complete file."""
        saved = {"format": FORMAT, "optuna": optuna.__version__, "state": self.__getstate__()}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as file:
                pickle.dump(saved, file, protocol=pickle.HIGHEST_PROTOCOL)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _persisting(name):
    method = getattr(InMemoryStorage, name)

    def persisting(self, *args, **kwargs):
        with self._lock:
            result = method(self, *args, **kwargs)
            self._save()
            return result

    persisting.__name__ = persisting.__qualname__ = name
    persisting.__doc__ = method.__doc__
    return persisting


for _name in MUTATING:
    if hasattr(InMemoryStorage, _name):  # optuna >= 3 renamed some (and uses _journal_storage)
        setattr(FileStorage, _name, _persisting(_name))
