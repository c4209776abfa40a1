"""The Optuna study file: a stopped study resumes, in Python and across two real sweeps."""

import pickle

import optuna
import pytest

from conftest import TINY, run_cli
from xaiexp.optuna_storage import file_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    return (trial.suggest_float("x", -1.0, 1.0) - 0.25) ** 2


def run_trials(study, n):
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, objective(trial))


def load(path, name="study"):
    return optuna.create_study(study_name=name, storage=file_storage(path), direction="minimize",
                               load_if_exists=True)


def test_a_study_reloaded_from_its_file_has_its_trials_and_goes_on(tmp_path):
    path = tmp_path / "optuna" / "study.pkl"
    first = load(path)
    run_trials(first, 3)
    assert path.exists() and not list(path.parent.glob(".*.tmp"))

    again = load(path)  # a new storage object, as in the next sweep's process
    assert again._storage is not first._storage
    assert [t.number for t in again.trials] == [0, 1, 2]
    assert [t.params for t in again.trials] == [t.params for t in first.trials]
    assert again.best_value == first.best_value
    assert {t.state for t in again.trials} == {optuna.trial.TrialState.COMPLETE}

    run_trials(again, 2)
    assert [t.number for t in load(path).trials] == [0, 1, 2, 3, 4]


def test_a_trial_left_running_by_a_stopped_sweep_is_failed_on_load(tmp_path):
    path = tmp_path / "study.pkl"
    study = load(path)
    run_trials(study, 1)
    study.ask()  # the sweep is killed while this trial's job runs
    assert load(path).trials[1].state == optuna.trial.TrialState.FAIL
    run_trials(load(path), 1)
    assert [t.state.name for t in load(path).trials] == ["COMPLETE", "FAIL", "COMPLETE"]


def test_the_file_is_a_pickle_without_the_lock_and_other_files_are_refused(tmp_path):
    path = tmp_path / "study.pkl"
    run_trials(load(path), 1)
    saved = pickle.loads(path.read_bytes())
    assert "_lock" not in saved["state"] and "path" not in saved["state"]
    path.write_bytes(pickle.dumps({"something": "else"}))
    with pytest.raises(ValueError, match="not an xaiexp Optuna study file"):
        file_storage(path)


def test_no_path_means_optunas_in_memory_storage(monkeypatch, tmp_path):
    assert file_storage(None) is None
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    assert file_storage("outputs/optuna/s.pkl").path == tmp_path / "outputs" / "optuna" / "s.pkl"


@pytest.mark.slow
def test_the_same_optuna_sweep_run_twice_resumes_its_study(home):
    path = home / "outputs" / "optuna" / "study.pkl"
    command = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", *TINY, "epochs=1",
               "explain=none", "hydra.sweeper.storage.path=outputs/optuna/study.pkl",
               "objective.metric=eval/ce", "objective.direction=minimize"]
    for sweep in 1, 2:
        result = run_cli(*command, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        trials = pickle.loads(path.read_bytes())["state"]["_studies"]
        (study,) = trials.values()
        assert [t.number for t in study.trials] == list(range(2 * sweep))
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    assert "Using an existing study with name 'xaiexp'" in result.stdout + result.stderr
    assert "Directions: ['minimize']" in result.stdout + result.stderr  # the objective's
